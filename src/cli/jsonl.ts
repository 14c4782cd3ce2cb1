/**
 * Reading an applicants file: one JSON applicant per line (JSONL), validated with the same schema
 * the partner API uses. Line numbers are 1-based, as editors show them.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ApplicantSchema, type Applicant } from '../kyc/applicant.js';
import { zodFieldErrors } from '../lib/problem.js';

/** Same limit as the API's JSON body limit. */
export const MAX_LINE_BYTES = 64 * 1024;

export type LineVerdict =
  | { ok: true; applicant: Applicant }
  | { ok: false; problems: string[] };

export interface Line {
  lineNo: number;
  text: string;
}

/** Yields the non-blank lines of a file (a path) or a stream (stdin) with their line numbers. */
export async function* readLines(source: string | NodeJS.ReadableStream, signal?: AbortSignal): AsyncGenerator<Line> {
  const input = typeof source === 'string' ? createReadStream(source, { encoding: 'utf8' }) : source;
  const rl = createInterface({ input, crlfDelay: Infinity });
  const stop = (): void => rl.close();
  signal?.addEventListener('abort', stop, { once: true });
  let lineNo = 0;
  try {
    for await (const text of rl) {
      lineNo += 1;
      if (text.trim() !== '') yield { lineNo, text };
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    rl.close();
    if (typeof source === 'string') (input as ReturnType<typeof createReadStream>).destroy();
  }
}

/** Counts the non-blank lines (a first pass, so that progress has a total). */
export async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const _line of readLines(file)) n += 1;
  return n;
}

export function validateLine(text: string): LineVerdict {
  if (Buffer.byteLength(text) > MAX_LINE_BYTES) return { ok: false, problems: [`line is longer than ${MAX_LINE_BYTES / 1024} KiB`] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not valid JSON (${err instanceof Error ? err.message : String(err)})`] };
  }
  const parsed = ApplicantSchema.safeParse(json);
  if (parsed.success) return { ok: true, applicant: parsed.data };
  return { ok: false, problems: zodFieldErrors(parsed.error).map((e) => `${e.field}: ${e.message}`) };
}
