/**
 * The operator CLI: `kyc-orchestrator <command>`. It works directly against Redis with the
 * service's own modules (no HTTP), configured by the same environment as the service.
 *
 * `run` is the whole CLI as a function (argv, env and streams in, exit code out); `runFromProcess`
 * binds it to the process (signals, exit code). The environment is handed in by the entry file
 * (bin/kyc-orchestrator.mjs) and read only through loadConfig.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config/env.js';
import { COMMANDS, GROUPS } from './commands.js';
import { connect, type CliDeps } from './context.js';
import { CliError, commandName, EXIT, helpText, parseCommandArgs, UsageError, type CommandSpec, type Output, type RunContext } from './spec.js';

export interface RunOptions {
  argv: string[];
  env: Record<string, string | undefined>;
  stdin?: () => NodeJS.ReadableStream;
  stdout: Output;
  stderr: Output;
  signal?: AbortSignal;
  setInterruptible?(on: boolean): void;
}

const BIN = 'kyc-orchestrator';

export async function run(opts: RunOptions): Promise<number> {
  let deps: Promise<CliDeps> | undefined;
  let config: Config | undefined;
  const ctx: RunContext = {
    stdin: opts.stdin,
    stdout: opts.stdout,
    stderr: opts.stderr,
    signal: opts.signal ?? new AbortController().signal,
    setInterruptible: (on) => opts.setInterruptible?.(on),
    config: () => (config ??= loadConfig(opts.env)),
    deps: () => (deps ??= connect(ctx.config())),
  };
  try {
    return await dispatch(ctx, opts.argv);
  } catch (err) {
    return report(err, opts.stderr);
  } finally {
    if (deps) await deps.then((d) => d.close(), () => undefined);
  }
}

async function dispatch(ctx: RunContext, argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === undefined) {
    ctx.stderr.write(globalHelp());
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h') return printed(ctx, globalHelp());
  if (first === '--version' || first === '-V') return printed(ctx, `${version()}\n`);
  if (first === 'help') return help(ctx, argv.slice(1));
  const group = GROUPS.get(first);
  if (group) {
    if (second === '--help' || second === '-h') return printed(ctx, groupHelp(first, group));
    if (second === undefined || second.startsWith('-')) throw new UsageError(`${first}: which one? ${group.map((c) => c.path[1]).join(', ')}`, first);
  }
  const spec = findCommand(argv);
  if (!spec) throw unknownCommand(argv);
  const parsed = parseCommandArgs(spec, argv.slice(spec.path.length));
  if (parsed.help) return printed(ctx, helpText(spec));
  return spec.run(ctx, parsed);
}

function findCommand(argv: string[]): CommandSpec | undefined {
  return COMMANDS.find((c) => c.path.every((p, i) => argv[i] === p));
}

function unknownCommand(argv: string[]): UsageError {
  const group = argv[0] !== undefined ? GROUPS.get(argv[0]) : undefined;
  if (group) return new UsageError(`unknown command "${argv[0]} ${argv[1] ?? ''}" (${argv[0]} has: ${group.map((c) => c.path[1]).join(', ')})`, argv[0]);
  return new UsageError(`unknown command "${argv[0] ?? ''}"`);
}

function help(ctx: RunContext, topic: string[]): number {
  if (topic.length === 0) return printed(ctx, globalHelp());
  const spec = findCommand(topic);
  if (spec) return printed(ctx, helpText(spec));
  const group = topic[0] !== undefined ? GROUPS.get(topic[0]) : undefined;
  if (group && topic[0]) return printed(ctx, groupHelp(topic[0], group));
  throw unknownCommand(topic);
}

function printed(ctx: RunContext, text: string): number {
  ctx.stdout.write(text);
  return EXIT.ok;
}

function commandList(specs: readonly CommandSpec[]): string {
  const rows = specs.map((c) => [`${commandName(c)} ${c.usage.replace(/\s*\[[^\]]*\]/g, '')}`.trim(), c.summary] as const);
  const w = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

function globalHelp(): string {
  return `${BIN}: operator CLI for kyc-orchestrator. Works directly against Redis with the
service's own modules, configured by the service's environment (REDIS_URL, QUEUE_PREFIX, ...).

Usage: ${BIN} <command> [options]

Commands:
${commandList(COMMANDS)}

Run '${BIN} <command> --help' for a command's options.

Exit codes: 0 ok · 1 failure (Redis unreachable, broken audit chain, command refused) ·
2 usage or configuration error · 3 no such case · 4 onboard finished with invalid lines ·
130 interrupted.
`;
}

function groupHelp(name: string, specs: readonly CommandSpec[]): string {
  return `Usage: ${BIN} ${name} <${specs.map((c) => c.path[1]).join('|')}> [options]\n\nCommands:\n${commandList(specs)}\n\nRun '${BIN} ${name} <command> --help' for a command's options.\n`;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `${BIN} ${pkg.version ?? 'unknown'}`;
  } catch {
    return `${BIN} (version unknown)`;
  }
}

/** One clear message per error, never a stack trace; returns the exit code. */
function report(err: unknown, stderr: Output): number {
  if (err instanceof ConfigError) {
    for (const p of err.problems) stderr.write(`config: ${p}\n`);
    return EXIT.usage;
  }
  if (err instanceof UsageError) {
    stderr.write(`error: ${err.message}\nRun '${BIN} ${err.hint ? `${err.hint} ` : ''}--help' for usage.\n`);
    return err.exitCode;
  }
  if (err instanceof CliError) {
    stderr.write(`error: ${err.message}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  stderr.write(`error: ${msg}${cause}\n`);
  return EXIT.failure;
}

/**
 * Runs the CLI as this process. The first SIGINT/SIGTERM stops an interruptible command cleanly
 * (it finishes what is in flight and prints its summary); otherwise, or the second time, exit now.
 */
export async function runFromProcess(env: Record<string, string | undefined>): Promise<void> {
  const ac = new AbortController();
  let interruptible = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interruptible && !ac.signal.aborted) {
      process.stderr.write(`\n${sig}: finishing the work in flight (send it again to stop at once)\n`);
      ac.abort(sig);
      return;
    }
    process.exit(sig === 'SIGINT' ? EXIT.interrupted : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok); // `| head` closed the pipe: not an error
  });
  const code = await run({
    argv: process.argv.slice(2), env, stdin: () => process.stdin, stdout: process.stdout, stderr: process.stderr,
    signal: ac.signal, setInterruptible: (on) => { interruptible = on; },
  });
  // Everything is closed by now, but ioredis may keep a connect-timeout timer of a connection
  // that never came up for a few seconds: flush the output and exit instead of waiting for it.
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}
