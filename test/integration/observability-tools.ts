/**
 * External tools of the observability tests (Debian packages that `.ci/run` installs): a test
 * that needs one skips with a clear message when it is missing on a developer's machine, and
 * fails when it is missing in CI (CI=true), where skipping would hide a broken install step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function hasBinary(bin: string): boolean {
  if (bin.startsWith('/')) return existsSync(bin);
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

const inCi = (): boolean => !!process.env.CI && process.env.CI !== 'false';

/**
 * True when every binary is there. Otherwise: in CI throws (the test fails); locally prints why
 * and returns false (the caller skips).
 */
export function requireTools(...bins: string[]): boolean {
  const missing = bins.filter((b) => !hasBinary(b));
  if (missing.length === 0) return true;
  const msg = `${missing.join(', ')} not installed (Debian: apt-get install -y ${missing.map(debianPackage).join(' ')}; .ci/run does this)`;
  if (inCi()) throw new Error(`${msg}: required in CI`);
  process.stderr.write(`skipped: ${msg}\n`);
  return false;
}

function debianPackage(bin: string): string {
  if (bin === 'promtool' || bin === 'prometheus') return 'prometheus';
  if (bin.endsWith('chromium')) return 'chromium';
  return bin;
}
