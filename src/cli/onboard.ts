/**
 * `onboard`: onboards every applicant of a JSONL file exactly as `POST /v1/onboardings` does
 * (validate → store.create → producer.ensureWork). Invalid lines are reported with their line
 * number and skipped; a re-run after an interruption creates no duplicates because
 * `store.create` returns the existing case for a known (provider, externalId) and `ensureWork`
 * uses deterministic job ids. An optional checkpoint skips the lines already finished.
 */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Applicant } from '../kyc/applicant.js';
import { isProviderId, PROVIDER_IDS, type ProviderId } from '../kyc/types.js';
import { checkpointSaver, identify, loadCheckpoint, type CheckpointIdentity } from './checkpoint.js';
import { redactUrl, type CliDeps } from './context.js';
import { countLines, readLines, validateLine } from './jsonl.js';
import { createProgress, type Progress, type ProgressStats } from './progress.js';
import { CliError, EXIT, optInt, optString, UsageError, type CommandSpec, type Parsed, type RunContext } from './spec.js';
import { renderTable } from './table.js';

const CMD = 'onboard';
const ATTEMPTS_PER_LINE = 3;
/** This many failed lines in a row means Redis is gone: stop instead of failing every line. */
const MAX_CONSECUTIVE_FAILURES = 20;

interface Tally { created: number; existing: number; skipped: number; invalid: number; failed: number }

interface Settings {
  provider: ProviderId;
  /** A path, or `-` for standard input. */
  file: string;
  /** A regular file: counted first (progress shows a percentage) and checkpointable. */
  regular: boolean;
  concurrency: number;
  checkpoint?: string;
}

/** The mutable state of one run. */
interface RunState {
  tally: Tally;
  /** Lines in the file; unknown for stdin or a pipe. */
  total?: number;
  /** Highest line number handed out (dispatched, skipped or found invalid). */
  lastRead: number;
  inFlight: Set<number>;
  firstFailed?: number;
  consecutiveFailures: number;
  invalidLines: number[];
  stopReason?: string;
}

export const onboardCommand: CommandSpec = {
  path: [CMD],
  summary: 'Onboard the applicants of a JSONL file, as POST /v1/onboardings does.',
  usage: '--provider <id> --file <applicants.jsonl> [--concurrency N] [--checkpoint <path>]',
  details: `One canonical applicant JSON per line; each is validated with the API's schema, created in the
case store (or found, when its externalId is known) and its create-user job queued.

Options:
  -p, --provider <id>       provider to onboard at: ${PROVIDER_IDS.join(', ')} (required)
  -f, --file <path>         JSONL file, one canonical applicant per line (required; - for stdin)
  -c, --concurrency <n>     onboardings in flight at once, 1-64 (default 8)
      --checkpoint <path>   remember the last finished line there and skip up to it on a re-run

Invalid lines (bad JSON, schema errors) are reported on stderr with their line number and field
errors, and skipped. Interrupting (Ctrl-C) finishes the onboardings in flight and prints the
summary; re-running the same command resumes: known applicants (same provider and externalId)
are found, never created twice.

Exit codes: 0 all lines onboarded · 4 done, but some lines were invalid · 1 some lines failed
(Redis errors; re-run to retry them) · 2 usage · 130 interrupted.`,
  options: {
    provider: { type: 'string', short: 'p' },
    file: { type: 'string', short: 'f' },
    concurrency: { type: 'string', short: 'c' },
    checkpoint: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  run: runOnboard,
};

async function settingsFrom(ctx: RunContext, args: Parsed): Promise<Settings> {
  const provider = optString(args.values, 'provider');
  const file = optString(args.values, 'file');
  if (!provider) throw new UsageError('--provider is required', CMD);
  if (!isProviderId(provider)) throw new UsageError(`unknown provider "${provider}" (known: ${PROVIDER_IDS.join(', ')})`, CMD);
  if (!file) throw new UsageError('--file is required', CMD);
  const regular = file === '-' ? false : await isRegularFile(file);
  if (file === '-' && !ctx.stdin) throw new CliError('--file -: there is no standard input here', EXIT.usage);
  const checkpoint = optString(args.values, 'checkpoint');
  if (checkpoint && !regular) throw new UsageError('--checkpoint needs a regular file (not stdin or a pipe)', CMD);
  const concurrency = optInt(args.values, 'concurrency', { min: 1, max: 64, fallback: 8 }, CMD);
  return { provider, file, regular, concurrency, checkpoint };
}

/** A regular file, or a pipe / device (read as a stream); anything else is refused. */
async function isRegularFile(file: string): Promise<boolean> {
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, EXIT.usage);
  });
  if (st.isFile()) return true;
  if (st.isFIFO() || st.isCharacterDevice()) return false;
  throw new CliError(`cannot read ${file}: not a file`, EXIT.usage);
}

async function runOnboard(ctx: RunContext, args: Parsed): Promise<number> {
  const s = await settingsFrom(ctx, args);
  const config = ctx.config();
  if (config.PROVIDERS_MODE === 'live' && !liveUrlConfigured(config, s.provider)) {
    throw new CliError(`provider ${s.provider} is not enabled on this deployment (PROVIDERS_MODE=live and no ${s.provider.toUpperCase()}_BASE_URL)`, EXIT.usage);
  }
  const total = s.regular ? await countLines(s.file) : undefined;
  const deps = await ctx.deps();
  const cp = s.checkpoint ? { path: s.checkpoint, id: await identify(s.file, s.provider, `${redactUrl(config.REDIS_URL)} ${config.QUEUE_PREFIX}`) } : undefined;
  const resumeThrough = cp ? await resumePoint(ctx, cp.path, cp.id) : 0;
  const state: RunState = { tally: { created: 0, existing: 0, skipped: 0, invalid: 0, failed: 0 }, total, lastRead: 0, inFlight: new Set(), consecutiveFailures: 0, invalidLines: [] };
  const progress = createProgress({ stream: ctx.stderr, label: 'onboard' });
  const saver = cp ? checkpointSaver({ path: cp.path, id: cp.id, progress: state, clock: deps.clock }) : undefined;
  ctx.setInterruptible(true);
  try {
    await processFile({ ctx, deps, s, state, progress, resumeThrough });
  } finally {
    ctx.setInterruptible(false);
    await saver?.stop();
  }
  progress.finish(stats(state));
  if (ctx.signal.aborted) state.stopReason ??= 'interrupted';
  ctx.stdout.write(summary(s, state));
  return exitCode(state, ctx.signal.aborted);
}

function liveUrlConfigured(config: ReturnType<RunContext['config']>, p: ProviderId): boolean {
  const urls: Record<ProviderId, string | undefined> = { kira: config.KIRA_BASE_URL, kraken: config.KRAKEN_BASE_URL, wealthyhood: config.WEALTHYHOOD_BASE_URL };
  return urls[p] !== undefined;
}

async function resumePoint(ctx: RunContext, path: string, id: CheckpointIdentity): Promise<number> {
  const cp = await loadCheckpoint(path, id);
  if (cp.kind === 'resume') {
    ctx.stderr.write(`checkpoint ${path}: lines 1-${cp.doneThrough} were finished by an earlier run; resuming after them\n`);
    return cp.doneThrough;
  }
  if (cp.kind === 'mismatch') ctx.stderr.write(`checkpoint ${path} ignored (${cp.why}); starting from line 1 (safe: known applicants are not created twice)\n`);
  return 0;
}

interface FileRun { ctx: RunContext; deps: CliDeps; s: Settings; state: RunState; progress: Progress; resumeThrough: number }

async function processFile(r: FileRun): Promise<void> {
  const { state, progress } = r;
  const running = new Set<Promise<void>>();
  const source = r.s.file === '-' && r.ctx.stdin ? r.ctx.stdin() : r.s.file;
  // Aborting closes the reader too, so an interrupt also ends a wait for more input (stdin).
  for await (const line of readLines(source, r.ctx.signal)) {
    if (r.ctx.signal.aborted || state.stopReason) break;
    const verdict = validateLine(line.text);
    if (!verdict.ok) {
      state.tally.invalid += 1;
      state.invalidLines.push(line.lineNo);
      progress.log(`line ${line.lineNo}: invalid: ${verdict.problems.join('; ')}`);
    } else if (line.lineNo <= r.resumeThrough) {
      state.tally.skipped += 1;
    } else {
      while (running.size >= r.s.concurrency) await Promise.race(running);
      if (r.ctx.signal.aborted || state.stopReason) break;
      const p = onboardLine(r, line.lineNo, verdict.applicant).finally(() => running.delete(p));
      running.add(p);
    }
    state.lastRead = line.lineNo;
    progress.update(stats(state));
  }
  await Promise.all(running);
}

async function onboardLine(r: FileRun, lineNo: number, applicant: Applicant): Promise<void> {
  const { state } = r;
  state.inFlight.add(lineNo);
  try {
    const outcome = await onboardApplicant(r.deps, r.s.provider, applicant);
    state.tally[outcome] += 1;
    state.consecutiveFailures = 0;
  } catch (err) {
    state.tally.failed += 1;
    state.firstFailed = Math.min(state.firstFailed ?? lineNo, lineNo);
    state.consecutiveFailures += 1;
    const what = err instanceof OnboardFailure && err.caseCreated ? 'failed (case created, its job not queued)' : 'failed';
    r.progress.log(`line ${lineNo}: ${what}: ${describe(err instanceof OnboardFailure ? err.cause : err)}`);
    if (state.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
      state.stopReason = `stopped after ${MAX_CONSECUTIVE_FAILURES} failures in a row (is Redis reachable?)`;
    }
  } finally {
    state.inFlight.delete(lineNo);
    r.progress.update(stats(state));
  }
}

class OnboardFailure extends Error {
  override readonly name = 'OnboardFailure';
  constructor(readonly caseCreated: boolean, cause: unknown) {
    super('onboarding failed', { cause });
  }
}

/** One applicant, retried a few times on Redis errors (each step is idempotent). */
async function onboardApplicant(deps: CliDeps, provider: ProviderId, applicant: Applicant): Promise<'created' | 'existing'> {
  let created = false;
  let last: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS_PER_LINE; attempt++) {
    try {
      const res = await deps.store.create(provider, applicant, deps.clock.now());
      created ||= res.created;
      await deps.producer.ensureWork(res.case);
      return created ? 'created' : 'existing';
    } catch (err) {
      last = err;
      if (attempt < ATTEMPTS_PER_LINE) await sleep(200 * attempt);
    }
  }
  throw new OnboardFailure(created, last);
}

const REDIS_DOWN = /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|MaxRetriesPerRequest|Redis is unavailable|Redis did not answer/;

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const text = `${err.message}${cause}`;
  return REDIS_DOWN.test(text) ? `Redis unavailable (${text})` : text;
}

function stats(state: RunState): ProgressStats {
  const t = state.tally;
  return {
    done: t.created + t.existing + t.skipped + t.invalid + t.failed,
    total: state.total,
    counters: [['created', t.created], ['existing', t.existing], ...(t.skipped ? [['skipped', t.skipped] as [string, number]] : []), ['invalid', t.invalid], ['failed', t.failed]],
  };
}

function summary(s: Settings, state: RunState): string {
  const t = state.tally;
  const seen = t.created + t.existing + t.skipped + t.invalid + t.failed;
  const notAttempted = Math.max(0, (state.total ?? seen) - seen);
  const rows: [string, number][] = [
    ['created', t.created],
    ['already existing', t.existing],
    ...(s.checkpoint ? [['done in an earlier run (checkpoint)', t.skipped] as [string, number]] : []),
    ['invalid (skipped)', t.invalid],
    ['failed', t.failed],
    ...(notAttempted > 0 ? [['not attempted', notAttempted] as [string, number]] : []),
    [state.total === undefined ? 'lines read' : 'total lines', state.total ?? seen],
  ];
  const table = renderTable([{ header: 'result' }, { header: 'lines', align: 'right' }], rows.map(([k, v]) => [k, String(v)]));
  const notes: string[] = [];
  if (state.invalidLines.length > 0) notes.push(`invalid lines: ${listLines(state.invalidLines)}`);
  if (state.stopReason) notes.push(`${state.stopReason}: re-run the same command to resume`);
  else if (t.failed > 0) notes.push('some lines failed: re-run the same command to retry them (nothing is created twice)');
  return `\nOnboarding summary: provider ${s.provider}, file ${s.file === '-' ? '(stdin)' : s.file}\n${table}${notes.map((n) => `${n}\n`).join('')}`;
}

function listLines(lines: number[]): string {
  const sorted = [...lines].sort((a, b) => a - b);
  return sorted.length <= 50 ? sorted.join(', ') : `${sorted.slice(0, 50).join(', ')}, … (${sorted.length} in all)`;
}

function exitCode(state: RunState, interrupted: boolean): number {
  if (interrupted) return EXIT.interrupted;
  if (state.stopReason || state.tally.failed > 0) return EXIT.failure;
  return state.tally.invalid > 0 ? EXIT.invalidInput : EXIT.ok;
}
