/**
 * The service as real OS processes (`node --import tsx src/main.ts api|worker`), for tests that
 * kill, signal and restart them. Each process gets its own port; its output is kept (last lines)
 * so a failing test can show why a process died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { freePort } from './redis.js';
import { waitFor } from './wait.js';

export interface ServiceProcess {
  role: 'api' | 'worker';
  /** http://127.0.0.1:<port>: the api, or a worker's /healthz, /readyz and /metrics. */
  url: string;
  proc: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** The last lines the process wrote (stdout and stderr). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

const MAX_LINES = 200;

export async function spawnService(role: 'api' | 'worker', env: Record<string, string>, opts: { ready?: boolean; port?: number } = {}): Promise<ServiceProcess> {
  const port = opts.port ?? (await freePort());
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', role], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  let gone = false;
  void exited.then(() => { gone = true; });
  const url = `http://127.0.0.1:${port}`;
  const sp: ServiceProcess = {
    role, url, proc, exited,
    output: () => lines.join('\n'),
    async kill(signal = 'SIGKILL') {
      if (!gone) proc.kill(signal);
      return exited;
    },
  };
  await waitFor(async () => {
    if (gone) throw new Error(`${role} exited during start:\n${sp.output()}`);
    const res = await fetch(`${url}/${opts.ready ? 'readyz' : 'healthz'}`);
    return res.status === 200;
  }, { timeoutMs: 30_000, intervalMs: 50, what: `${role} process on ${port} to answer` }).catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return sp;
}

/** Environment for service processes pointing at test-owned simulators (live mode, no in-process simulators). */
export function processEnv(o: { redisUrl: string; prefix: string; kiraUrl?: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    REDIS_URL: o.redisUrl, QUEUE_PREFIX: o.prefix, PROVIDERS_MODE: 'live', API_TOKENS: 'test-token',
    ...(o.kiraUrl ? { KIRA_BASE_URL: o.kiraUrl, KIRA_API_KEY: 'k', KIRA_CLIENT_ID: 'c', KIRA_PASSWORD: 'p' } : {}),
    KIRA_WEBHOOK_SECRETS: 'whsec-new-0001,whsec-old-0002',
    ...o.extra,
  };
}

/** Kills every process still running (afterEach). */
export async function killAll(ps: ServiceProcess[]): Promise<void> {
  await Promise.all(ps.splice(0).map((p) => p.kill('SIGKILL')));
}

/**
 * For a test file at module scope: after each test, kills the processes pushed to `procs`, then
 * runs `cleanups` newest first (simulators, Redis servers, key prefixes).
 */
export function processHarness(): { procs: ServiceProcess[]; cleanups: (() => Promise<void>)[] } {
  const procs: ServiceProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await killAll(procs);
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return { procs, cleanups };
}

export type { ChildProcess };
