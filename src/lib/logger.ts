/**
 * The pino root logger. Redaction is by construction: every applicant field name (derived from
 * the applicant schema), whole applicants and bodies are censored wherever they appear, at any
 * depth in a log line and two levels deep in a child logger's bindings; auth and signature headers
 * are censored by path.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { APPLICANT_FIELDS } from '../kyc/applicant.js';

export type { Logger };

const SECRET_HEADERS = [
  'authorization',
  'x-api-key',
  'x-signature-sha256',
  'x-kira-signature',
  'x-signature',
  'api-sign',
  'cookie',
  'webhook-signature',
];

const PII_KEYS = [...APPLICANT_FIELDS.filter((f) => f !== 'externalId'), 'applicant', 'body', 'rawBody'];

/**
 * Paths pino censors itself. Log lines are scrubbed at any depth by `scrubPii` (below); a child
 * logger's bindings are not passed through formatters by pino, so the PII keys are also listed
 * here at the top level and one level down, which covers them there.
 */
export const REDACT_PATHS: string[] = [
  ...PII_KEYS.flatMap((k) => [k, `*.${k}`]),
  ...SECRET_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`]),
];

const PII = new Set(PII_KEYS);
const CENSOR = '[redacted]';
const MAX_DEPTH = 10;

/**
 * A copy of `v` with the value of every PII key censored, at any depth; `v` itself when there is
 * nothing to censor (the common case costs one walk and no allocation).
 */
export function scrubPii(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  if (depth >= MAX_DEPTH) return CENSOR; // deeper than any log line we write: refuse, do not guess
  if (Array.isArray(v)) {
    const list: readonly unknown[] = v;
    let out: unknown[] | undefined;
    list.forEach((x, i) => {
      const y = scrubPii(x, depth + 1);
      if (y !== x) (out ??= [...list])[i] = y;
    });
    return out ?? v;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const y = PII.has(k) ? CENSOR : scrubPii(x, depth + 1);
    if (y !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = y;
  }
  return out ?? v;
}

export function createLogger(opts: { level: string; destination?: DestinationStream; base?: Record<string, unknown> }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'kyc-orchestrator', ...opts.base },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      formatters: { log: (o) => scrubPii(o) as Record<string, unknown> },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}

/**
 * Standard output for the service's own processes (main.ts), written asynchronously in blocks: a
 * log line costs no system call on the request or job path; lines go out once 4 KB have gathered,
 * and at the latest every 250 ms. pino flushes what is left synchronously on exit; lines still
 * buffered when a process is SIGKILLed are lost (logs are for people; state is in Redis).
 */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 4_096, periodicFlush: 250 });
}

/**
 * A listener for the 'error' events of BullMQ queues and workers (connection errors while Redis
 * is unreachable): one JSON warn line per source and `everyMs` at most, instead of BullMQ's
 * fallback of printing every reconnect attempt to stderr when nothing listens.
 */
export function throttledErrorLog(log: Logger, msg: string, everyMs = 10_000): (source: string) => (err: Error) => void {
  const last = new Map<string, number>();
  return (source) => (err) => {
    const now = performance.now();
    const prev = last.get(source);
    if (prev !== undefined && now - prev < everyMs) return;
    last.set(source, now);
    log.warn({ source, err: err.message }, msg);
  };
}
