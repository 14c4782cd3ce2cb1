/**
 * The pino root logger. Redaction is by construction: every applicant field name (derived from
 * the applicant schema), whole applicants and bodies, and auth / signature headers are censored
 * wherever they appear at the top level or one level down.
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

export const REDACT_PATHS: string[] = [
  ...PII_KEYS.flatMap((k) => [k, `*.${k}`]),
  ...SECRET_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`]),
];

export function createLogger(opts: { level: string; destination?: DestinationStream; base?: Record<string, unknown> }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'kyc-orchestrator', ...opts.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
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
