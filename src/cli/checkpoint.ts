/**
 * Optional checkpoint of an `onboard` run: the last line up to which every line is finished
 * (onboarded, found existing, or invalid). Resuming needs no checkpoint (onboarding is idempotent
 * per externalId); it only saves the Redis round-trips of the lines already done. A checkpoint
 * is used only for the same file (size and mtime), provider and Redis prefix; it is written to a
 * temporary file and renamed, so a kill never leaves half a checkpoint.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';

const CheckpointSchema = z.object({
  version: z.literal(1),
  file: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  provider: z.string(),
  target: z.string(),
  /** Every line ≤ this one is finished. */
  doneThrough: z.number().int().min(0),
  updatedAt: z.string(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

export interface CheckpointIdentity {
  file: string;
  size: number;
  mtimeMs: number;
  provider: string;
  /** Redis URL (redacted) and prefix: a checkpoint never carries over to another deployment. */
  target: string;
}

export async function identify(file: string, provider: string, target: string): Promise<CheckpointIdentity> {
  const st = await stat(file);
  return { file: resolve(file), size: st.size, mtimeMs: Math.trunc(st.mtimeMs), provider, target };
}

export type LoadedCheckpoint =
  | { kind: 'none' }
  | { kind: 'resume'; doneThrough: number }
  | { kind: 'mismatch'; why: string };

export async function loadCheckpoint(path: string, id: CheckpointIdentity): Promise<LoadedCheckpoint> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw err;
  }
  let parsed;
  try {
    parsed = CheckpointSchema.safeParse(JSON.parse(raw));
  } catch {
    return { kind: 'mismatch', why: 'it is not a checkpoint file' };
  }
  if (!parsed.success) return { kind: 'mismatch', why: 'it is not a checkpoint file' };
  const c = parsed.data;
  if (c.file !== id.file || c.size !== id.size || c.mtimeMs !== id.mtimeMs) return { kind: 'mismatch', why: 'the input file changed since it was written' };
  if (c.provider !== id.provider) return { kind: 'mismatch', why: `it is for provider ${c.provider}` };
  if (c.target !== id.target) return { kind: 'mismatch', why: `it is for ${c.target}` };
  return { kind: 'resume', doneThrough: c.doneThrough };
}

export async function saveCheckpoint(path: string, id: CheckpointIdentity, doneThrough: number, now: Date): Promise<void> {
  const body: Checkpoint = { version: 1, ...id, doneThrough, updatedAt: now.toISOString() };
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`);
  await rename(tmp, path);
}

/** Where a run is: the last line handed out, the lines in flight, the first line that failed. */
export interface RunProgress {
  lastRead: number;
  inFlight: ReadonlySet<number>;
  firstFailed?: number;
}

/** Every line ≤ the result is finished: not in flight and not failed (a re-run retries those). */
export function doneThrough(p: RunProgress): number {
  let n = p.lastRead;
  for (const l of p.inFlight) n = Math.min(n, l - 1);
  if (p.firstFailed !== undefined) n = Math.min(n, p.firstFailed - 1);
  return Math.max(0, n);
}

const SAVE_EVERY_MS = 500;

/** Saves the checkpoint every half second while a run goes on, and a last time on `stop`. */
export function checkpointSaver(o: { path: string; id: CheckpointIdentity; progress: RunProgress; clock: { now(): Date } }) {
  let saved = -1;
  let chain: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    chain = chain.then(async () => {
      const n = doneThrough(o.progress);
      if (n === saved) return;
      await saveCheckpoint(o.path, o.id, n, o.clock.now());
      saved = n;
    });
    return chain;
  };
  const timer = setInterval(() => { save().catch(() => undefined); }, SAVE_EVERY_MS);
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await save();
    },
  };
}
