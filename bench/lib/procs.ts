/**
 * Child processes of the benchmark: every process it starts is registered here, so that a normal
 * end, an error or Ctrl-C stops all of them (by pid, never by name), and nothing is left running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Proc {
  name: string;
  pid: number;
  logPath: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Proc>();

export const ROOT = join(import.meta.dirname, '..', '..');

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Where stdout and stderr go (a file per process, kept for diagnosis on failure). */
  logDir: string;
  /** Capture stdout in memory instead of the log file (children that answer with JSON). */
  captureStdout?: boolean;
}

export function spawnProc(name: string, cmd: string, args: string[], opts: SpawnOptions): Proc & { stdout(): string } {
  const logPath = join(opts.logDir, `${name}.log`);
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', opts.captureStdout ? 'pipe' : fd, fd],
  });
  closeSync(fd);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { out += s; });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const proc: Proc & { stdout(): string } = {
    name, pid: child.pid, logPath, child, exited,
    stdout: () => out,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(proc);
  return proc;
}

/** Where `compileForBench` puts the JavaScript of src/ and bench/ (`.tmp/` is git-ignored). */
const BUILD_DIR = join(ROOT, '.tmp', 'bench-build');
const fromSource = process.env.BENCH_TSX === '1';

/**
 * Compiles src/ and bench/ with tsc (tsconfig.bench.json), so that every measured process runs
 * plain JavaScript as the Docker image does (`node dist/main.js`), not through tsx: tsx's
 * transform wraps every function our TypeScript creates, closures per job and per request
 * included, in a naming helper that the baselines (mostly library code) hardly pay. BENCH_TSX=1
 * runs the sources through tsx instead (no compile step; slower, as `npm start` is).
 */
export function compileForBench(): void {
  if (fromSource) return;
  rmSync(BUILD_DIR, { recursive: true, force: true });
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.bench.json')], { cwd: ROOT, stdio: 'inherit' });
}

/**
 * A TypeScript entry point of this repository (`src/main.ts`, `bench/load.ts`, …) in its own
 * Node process: its compiled JavaScript (see compileForBench), or with BENCH_TSX=1 the source
 * through tsx. With BENCH_CPU_PROF=<dir>, every child writes V8 CPU profiles (one per thread) to
 * `<dir>/<name>/`.
 */
export function spawnNode(name: string, script: string, args: string[], opts: SpawnOptions): Proc & { stdout(): string } {
  const dir = process.env.BENCH_CPU_PROF;
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
  const entry = fromSource ? ['--import', 'tsx', script] : [join(BUILD_DIR, script.replace(/\.ts$/, '.js'))];
  return spawnProc(name, process.execPath, [...profile, ...entry, ...args], opts);
}

/** Runs a bench child to completion; it answers with one JSON line on stdout (its last line). */
export async function runJsonChild<T>(name: string, script: string, input: unknown, opts: Omit<SpawnOptions, 'captureStdout'>): Promise<T> {
  const p = spawnNode(name, script, [], { ...opts, captureStdout: true, env: { ...opts.env, BENCH_INPUT: JSON.stringify(input) } });
  const code = await p.exited;
  const lines = p.stdout().trim().split('\n');
  if (code !== 0) throw new Error(`${name} exited with ${code}; see ${p.logPath}`);
  return JSON.parse(lines[lines.length - 1] ?? 'null') as T;
}

/** Peak resident set size (VmHWM) of a live process, in bytes. */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU time (user + system) a live process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after "pid (comm) ").
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A free TCP port on 127.0.0.1 (the test helpers' own). */
export { freePort } from '../../test/helpers/redis.js';

/** Stops every process still running (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(5_000)));
}

/** Last resort at exit: SIGKILL whatever is still registered (synchronous, for process 'exit'). */
export function killAllNow(): void {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Polls `check` until it is true or `timeoutMs` passes. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until GET `url` answers 200. */
export async function httpReady(url: string, what: string, timeoutMs = 30_000): Promise<void> {
  await until(async () => (await fetch(url)).status === 200, what, timeoutMs, 100);
}
