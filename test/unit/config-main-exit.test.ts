import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function startWith(env: Record<string, string>) {
  return spawnSync('npx', ['tsx', 'src/main.ts'], {
    cwd: ROOT,
    // Passed explicitly: nothing from the test runner's environment leaks into the config.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

/** Lines our process wrote; npm itself may warn about the machine's npmrc, which is not ours. */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
}

describe('src/main.ts with a bad environment', () => {
  it('exits with code 2 and writes one stderr line per problem', () => {
    const r = startWith({ PORT: 'abc', PREFLIGHT: 'maybe', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    const lines = ownLines(r.stderr);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.startsWith('config: PORT: '))).toBeDefined();
    expect(lines.find((l) => l.startsWith('config: PREFLIGHT: '))).toBeDefined();
    expect(r.stdout).not.toMatch(/listening/);
  });

  it('writes a single line when only one value is bad', () => {
    const r = startWith({ RECONCILE_SCHEDULE: '5 minutes', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(r.status).toBe(2);
    expect(ownLines(r.stderr)).toEqual(['config: RECONCILE_SCHEDULE: "5 minutes" is not a duration like 30s, 5m, 1h, 1d']);
  });
});
