/**
 * The shape of a CLI command and the small helpers every command shares: argument parsing with
 * node:util `parseArgs`, typed option readers, help text and the errors that map to exit codes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config/env.js';
import type { CliDeps } from './context.js';
import { UsageError } from './errors.js';

export { CliError, EXIT, UsageError } from './errors.js';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What a command gets: its streams, the environment (read via loadConfig only) and lazy deps. */
export interface RunContext {
  /** Standard input, for `onboard --file -`; absent when the caller has none. */
  stdin?: () => NodeJS.ReadableStream;
  stdout: Output;
  stderr: Output;
  /** Aborted on the first SIGINT/SIGTERM while the command is interruptible. */
  signal: AbortSignal;
  /** A command that can stop cleanly (finish in-flight work, print its summary) says so here. */
  setInterruptible(on: boolean): void;
  config(): Config;
  /** Connects to Redis and builds the service modules on first use. */
  deps(): Promise<CliDeps>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export interface CommandSpec {
  /** e.g. `['cases', 'list']`. */
  path: string[];
  summary: string;
  /** Arguments after the command path, e.g. `<id> [--note text]`. */
  usage: string;
  /** Longer help: options and examples, already formatted. */
  details: string;
  options: Options;
  /** Positional arguments: exact count range. */
  positionals: { min: number; max: number };
  run(ctx: RunContext, args: Parsed): Promise<number>;
}

export const HELP_OPTION: Options = { help: { type: 'boolean', short: 'h' } };

export function commandName(spec: CommandSpec): string {
  return spec.path.join(' ');
}

export function helpText(spec: CommandSpec): string {
  return `Usage: kyc-orchestrator ${commandName(spec)} ${spec.usage}\n\n${spec.summary}\n${spec.details ? `\n${spec.details.trimEnd()}\n` : ''}`;
}

/** Parses a command's arguments; every parse problem becomes a UsageError. */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): Parsed & { help: boolean } {
  let parsed: { values: Values; positionals: string[] };
  try {
    const r = parseArgs({ args: argv, options: { ...HELP_OPTION, ...spec.options }, allowPositionals: true, strict: true });
    parsed = { values: r.values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err), commandName(spec));
  }
  if (parsed.values.help === true) return { ...parsed, help: true };
  const n = parsed.positionals.length;
  if (n < spec.positionals.min) throw new UsageError(`missing argument: expected ${spec.usage}`, commandName(spec));
  if (n > spec.positionals.max) throw new UsageError(`unexpected argument: ${parsed.positionals[spec.positionals.max] ?? ''}`, commandName(spec));
  return { ...parsed, help: false };
}

export function optString(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' ? x : undefined;
}

export function optFlag(v: Values, name: string): boolean {
  return v[name] === true;
}

export function optInt(v: Values, name: string, range: { min: number; max: number; fallback: number }, cmd: string): number {
  const raw = optString(v, name);
  if (raw === undefined) return range.fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < range.min || n > range.max) {
    throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max} (got "${raw}")`, cmd);
  }
  return n;
}
