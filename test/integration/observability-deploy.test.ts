/**
 * Deployment files: docker-compose.yml validated by Debian's docker-compose (no Docker engine
 * here, so nothing is started), the Dockerfile's build stage reproduced (`npm run build` gives a
 * dist/main.js that runs under plain node), and the Grafana / Prometheus files wired consistently.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { requireTools } from './observability-tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const HAVE_COMPOSE = requireTools('docker-compose');

/** The block of one service in `docker-compose config` output (2-space indented YAML). */
function serviceBlock(config: string, name: string): string {
  const lines = config.split('\n');
  const servicesAt = lines.indexOf('services:');
  const start = lines.findIndex((l, i) => i > servicesAt && l === `  ${name}:`);
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^ {2}\S/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

describe('deployment', () => {
  it.skipIf(!HAVE_COMPOSE)('docker-compose config accepts the file; redis is durable; workers scale; simulators are demo-only', () => {
    // A clean environment: the file's own defaults, not whatever this shell exports.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
    const quiet = spawnSync('docker-compose', ['config', '-q'], { cwd: ROOT, encoding: 'utf8', env });
    expect(quiet.status, quiet.stderr).toBe(0);
    const full = spawnSync('docker-compose', ['--profile', 'demo', 'config'], { cwd: ROOT, encoding: 'utf8', env });
    expect(full.status, full.stderr).toBe(0);
    const config = full.stdout;

    for (const s of ['redis', 'api', 'worker', 'simulators', 'prometheus', 'grafana']) expect(serviceBlock(config, s), s).not.toBe('');
    const redis = serviceBlock(config, 'redis');
    expect(redis).toMatch(/--appendonly\n\s+- 'yes'|--appendonly\n\s+- "yes"|--appendonly\n\s+- yes/);
    expect(redis).toMatch(/--appendfsync\n\s+- always/);
    expect(redis).toMatch(/--maxmemory-policy\n\s+- noeviction/);

    // `--scale worker=N` needs a worker without a fixed name or published port.
    const worker = serviceBlock(config, 'worker');
    expect(worker).toMatch(/command:\n\s+- worker/);
    expect(worker).not.toMatch(/container_name:|ports:/);
    expect(worker).toContain('REDIS_URL: redis://redis:6379');
    // The environment compose gives api and workers is a valid configuration of the service.
    const envBlock = /\n {4}environment:\n((?: {6}.*\n)+)/.exec(`${worker}\n`)?.[1] ?? '';
    const workerEnv = Object.fromEntries(envBlock.trimEnd().split('\n').map((l) => {
      const [, k, v] = /^ {6}(\w+): (.*)$/.exec(l)!;
      return [k!, v!.replace(/^'(.*)'$/, '$1')];
    }));
    expect(Object.keys(workerEnv).length).toBeGreaterThan(10);
    const parsed = loadConfig(workerEnv);
    expect(parsed).toMatchObject({ REDIS_URL: 'redis://redis:6379', PORT: 3000, HOST: '0.0.0.0', QUEUE_PREFIX: '{kyc}', KIRA_BASE_URL: 'http://api:4010' });
    expect(parsed.ADMIN_PASSWORD).toBeUndefined();
    const api = serviceBlock(config, 'api');
    expect(api).toMatch(/command:\n\s+- api/);
    expect(api).toMatch(/published: 3000|3000:3000/);

    const sims = serviceBlock(config, 'simulators');
    expect(sims).toMatch(/profiles:\n\s+- demo/);
    expect(sims).toMatch(/command:\n\s+- simulators/);

    // Prometheus and Grafana get the shipped files.
    expect(serviceBlock(config, 'prometheus')).toMatch(/prometheus:\/etc\/prometheus/);
    const grafana = serviceBlock(config, 'grafana');
    expect(grafana).toMatch(/grafana\/provisioning:\/etc\/grafana\/provisioning/);
    expect(grafana).toMatch(/grafana\/dashboards:\/var\/lib\/grafana\/dashboards/);
  });

  it('the Grafana provisioning points at the dashboard and the Prometheus the compose file runs', () => {
    const dash = JSON.parse(read('grafana/dashboards/kyc-orchestrator.json')) as { uid: string; templating: { list: { name: string; current?: { value: unknown } }[] } };
    expect(dash.uid).toBe('kyc-orchestrator');
    expect(dash.templating.list.find((v) => v.name === 'datasource')?.current?.value).toBe('prometheus');
    const ds = read('grafana/provisioning/datasources/prometheus.yml');
    expect(ds).toMatch(/uid: prometheus/);
    expect(ds).toMatch(/url: http:\/\/prometheus:9090/);
    expect(read('grafana/provisioning/dashboards/kyc-orchestrator.yml')).toMatch(/path: \/var\/lib\/grafana\/dashboards/);
    const prom = read('prometheus/prometheus.yml');
    expect(prom).toMatch(/rule_files:\n\s+- alerts\.yml/);
    for (const svc of ['api', 'worker']) expect(prom).toMatch(new RegExp(`names: \\[${svc}\\]`));
  });

  it("the Dockerfile's build stage works: npm run build emits dist/main.js, which runs under plain node", () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3); // multi-stage
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", .*"dist\/main\.js"\]/);
    expect(JSON.parse(read('package.json')).scripts.build).toBe('tsc -p tsconfig.build.json');

    // Same compiler invocation as `npm run build`, into a scratch dir under .tmp/ (git-ignored) in the repo (so that
    // node_modules and package.json's "type": "module" resolve as they do in the image).
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const image = mkdtempSync(join(ROOT, '.tmp', 'build-'));
    const out = join(image, 'dist');
    try {
      const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
      expect(existsSync(join(out, 'main.js'))).toBe(true);
      // An unknown role prints the usage and exits 2, after every import of the entry point loaded.
      const run = spawnSync(process.execPath, [join(out, 'main.js'), 'no-such-role'], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(run.stderr).toMatch(/usage: npm start -- \[all\|api\|worker\|simulators\]/);
      expect(run.status).toBe(2);
      // The runtime stage copies bin/ beside dist/ (and no src/): the operator CLI runs from dist.
      expect(dockerfile).toMatch(/^COPY bin \.\/bin$/m);
      cpSync(join(ROOT, 'bin'), join(image, 'bin'), { recursive: true });
      const cli = spawnSync(process.execPath, [join(image, 'bin', 'kyc-orchestrator.mjs'), '--help'], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(cli.stdout + cli.stderr).toMatch(/cases list/);
      expect(cli.status, cli.stderr).toBe(0);
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  }, 120_000);
});
