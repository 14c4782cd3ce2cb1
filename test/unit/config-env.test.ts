import { describe, expect, it } from 'vitest';
import { problemsOf } from '../helpers/config.js';
import { ConfigError, loadConfig, parseDuration } from '../../src/config/env.js';

describe('loadConfig defaults', () => {
  it('applies the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.PROVIDERS_MODE).toBe('simulated');
    expect(c.PREFLIGHT).toBe('enforce');
    expect(c.RECONCILE_SCHEDULE).toEqual([60_000, 300_000, 900_000, 3_600_000, 86_400_000]);
    expect(c.MAX_REMEDIATION_ATTEMPTS).toBe(3);
    expect(c.API_TOKENS).toEqual(['dev-token']);
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.SIM_FAULTS).toBe('');
    expect(c.KIRA_BASE_URL).toBeUndefined();
    expect(c.PARTNER_WEBHOOK_URL).toBeUndefined();
    expect(c.ADMIN_PASSWORD).toBeUndefined();
  });

  it('keeps the queue prefix inside a Redis hash tag', () => {
    expect(loadConfig({}).QUEUE_PREFIX).toBe('{kyc}');
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '', PREFLIGHT: '', RECONCILE_SCHEDULE: '', KIRA_BASE_URL: '' });
    expect(c.PORT).toBe(3000);
    expect(c.PREFLIGHT).toBe('enforce');
    expect(c.RECONCILE_SCHEDULE).toHaveLength(5);
    expect(c.KIRA_BASE_URL).toBeUndefined();
  });

  it('ignores variables it does not know', () => {
    const c = loadConfig({ HOME: '/root', PATH: '/usr/bin', SOMETHING_ELSE: '!!' });
    expect(c).not.toHaveProperty('HOME');
    expect(c).not.toHaveProperty('SOMETHING_ELSE');
  });
});

describe('loadConfig values', () => {
  it('refuses a webhook dedupe TTL that does not outlive the events queue retention', () => {
    expect(problemsOf({ WEBHOOK_DEDUPE_TTL: '2d' })).toEqual([expect.stringMatching(/^WEBHOOK_DEDUPE_TTL: .*longer than 3d/)]);
    expect(loadConfig({ WEBHOOK_DEDUPE_TTL: '4d' }).WEBHOOK_DEDUPE_TTL).toBe(4 * 86_400_000);
  });

  it('coerces numbers', () => {
    const c = loadConfig({ PORT: '8080', MAX_REMEDIATION_ATTEMPTS: '5', WORKER_CONCURRENCY: '4' });
    expect(c.PORT).toBe(8080);
    expect(c.MAX_REMEDIATION_ATTEMPTS).toBe(5);
    expect(c.WORKER_CONCURRENCY).toBe(4);
  });

  it.each(['x', '70000', '3.5', '-1'])('rejects PORT=%s naming PORT', (PORT) => {
    const problems = problemsOf({ PORT });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT: /);
  });

  it('accepts the enum values', () => {
    const c = loadConfig({ PREFLIGHT: 'off', PROVIDERS_MODE: 'simulated', LOG_LEVEL: 'debug', WEALTHYHOOD_SCHEMA: 'v1' });
    expect(c).toMatchObject({ PREFLIGHT: 'off', LOG_LEVEL: 'debug', WEALTHYHOOD_SCHEMA: 'v1' });
  });

  it('accepts redis:// and rediss:// and rejects other schemes for REDIS_URL', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://cache.internal:6380' }).REDIS_URL).toBe('rediss://cache.internal:6380');
    expect(problemsOf({ REDIS_URL: 'http://127.0.0.1:6379' })).toEqual([expect.stringMatching(/^REDIS_URL: /)]);
  });

  it('rejects a provider base URL that is not http(s)', () => {
    expect(problemsOf({ KIRA_BASE_URL: 'ftp://kira.example' })).toEqual([expect.stringMatching(/^KIRA_BASE_URL: /)]);
  });

  it('rejects a malformed partner webhook secret', () => {
    expect(problemsOf({ PARTNER_WEBHOOK_SECRET: 'plain-secret' })).toEqual([
      expect.stringMatching(/^PARTNER_WEBHOOK_SECRET: .*whsec_/),
    ]);
  });
});

describe('loadConfig problems', () => {
  it('throws a ConfigError with one line per problem, naming each variable', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'x', PREFLIGHT: 'maybe' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.name).toBe('ConfigError');
    expect(err.problems).toHaveLength(2);
    expect(err.problems.find((p) => p.startsWith('PORT: '))).toBeDefined();
    expect(err.problems.find((p) => p.startsWith('PREFLIGHT: '))).toBeDefined();
    expect(err.problems.every((p) => !p.includes('\n'))).toBe(true);
    expect(err.message.split('\n').slice(1)).toEqual(err.problems);
  });

  it('reports every bad value at once', () => {
    const problems = problemsOf({ PORT: 'x', PREFLIGHT: 'maybe', LOG_LEVEL: 'loud', RECONCILE_SCHEDULE: '5 minutes', REDIS_URL: 'nope' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['LOG_LEVEL', 'PORT', 'PREFLIGHT', 'RECONCILE_SCHEDULE', 'REDIS_URL']);
  });

  it('reports a cross-field problem together with a per-field problem', () => {
    const problems = problemsOf({ PORT: 'x', PROVIDERS_MODE: 'live' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['KIRA_BASE_URL', 'PORT']);
  });
});

describe('RECONCILE_SCHEDULE and durations', () => {
  it('parses "1s,5s" into milliseconds', () => {
    expect(loadConfig({ RECONCILE_SCHEDULE: '1s,5s' }).RECONCILE_SCHEDULE).toEqual([1000, 5000]);
  });

  it('accepts every unit and surrounding spaces', () => {
    expect(loadConfig({ RECONCILE_SCHEDULE: ' 250ms, 1.5s ,2m,1h , 1d' }).RECONCILE_SCHEDULE).toEqual([
      250, 1500, 120_000, 3_600_000, 86_400_000,
    ]);
  });

  it('rejects "5 minutes", quoting the bad part', () => {
    const problems = problemsOf({ RECONCILE_SCHEDULE: '5 minutes' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^RECONCILE_SCHEDULE: "5 minutes" is not a duration/);
  });

  it('rejects a list with one bad entry', () => {
    expect(problemsOf({ RECONCILE_SCHEDULE: '1s,5x,10s' })).toEqual([expect.stringMatching(/^RECONCILE_SCHEDULE: "5x"/)]);
  });

  it('rejects a list with no durations at all', () => {
    expect(problemsOf({ RECONCILE_SCHEDULE: ' , ' })).toEqual([expect.stringMatching(/^RECONCILE_SCHEDULE: needs at least one/)]);
  });

  it('takes single durations for the scalar settings', () => {
    const c = loadConfig({ ESCALATION_SLA: '2h', PROVIDER_TIMEOUT: '1500ms', SHUTDOWN_GRACE: '10s' });
    expect(c.ESCALATION_SLA).toBe(7_200_000);
    expect(c.PROVIDER_TIMEOUT).toBe(1500);
    expect(c.SHUTDOWN_GRACE).toBe(10_000);
  });

  it.each([
    ['10ms', 10],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['0.5s', 500],
    ['0s', 0],
  ])('parseDuration(%s) = %i', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each(['', '5', '5 s', '-1s', '1w', 's', '1S', '5minutes'])('parseDuration("%s") is undefined', (s) => {
    expect(parseDuration(s)).toBeUndefined();
  });
});

describe('comma-separated lists', () => {
  it('splits, trims and drops empty items in API_TOKENS', () => {
    expect(loadConfig({ API_TOKENS: ' alpha, beta,,gamma ,' }).API_TOKENS).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('keeps KIRA_WEBHOOK_SECRETS in order, newest first', () => {
    expect(loadConfig({ KIRA_WEBHOOK_SECRETS: 'new-secret,old-secret' }).KIRA_WEBHOOK_SECRETS).toEqual(['new-secret', 'old-secret']);
  });

  it('names the index of a bad secret in the list', () => {
    expect(problemsOf({ KIRA_WEBHOOK_SECRETS: 'long-enough,abc' })).toEqual([expect.stringMatching(/^KIRA_WEBHOOK_SECRETS\.1: /)]);
  });

  it('rejects a KRAKEN_WEBHOOK_SECRETS entry that is not base64', () => {
    expect(problemsOf({ KRAKEN_WEBHOOK_SECRETS: 'c2VjcmV0LXNlY3JldA==,not base64!' })).toEqual([
      expect.stringMatching(/^KRAKEN_WEBHOOK_SECRETS\.1: must be base64/),
    ]);
  });

  it('rejects a secrets list with no items', () => {
    expect(problemsOf({ KIRA_WEBHOOK_SECRETS: ',' })).toEqual([expect.stringMatching(/^KIRA_WEBHOOK_SECRETS: /)]);
  });
});

describe('cross-field rules', () => {
  it('rejects live mode without any provider base URL, naming KIRA_BASE_URL', () => {
    const problems = problemsOf({ PROVIDERS_MODE: 'live' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KIRA_BASE_URL: PROVIDERS_MODE=live/);
  });

  it('accepts live mode with KIRA_BASE_URL', () => {
    const c = loadConfig({ PROVIDERS_MODE: 'live', KIRA_BASE_URL: 'https://api.kira.example' });
    expect(c.PROVIDERS_MODE).toBe('live');
    expect(c.KIRA_BASE_URL).toBe('https://api.kira.example');
  });

  it('requires WEALTHYHOOD_AUTH_URL with WEALTHYHOOD_BASE_URL', () => {
    expect(problemsOf({ WEALTHYHOOD_BASE_URL: 'https://api.wealthyhood.example' })).toEqual([
      expect.stringMatching(/^WEALTHYHOOD_AUTH_URL: required/),
    ]);
  });

  it('requires PARTNER_WEBHOOK_SECRET with PARTNER_WEBHOOK_URL', () => {
    expect(problemsOf({ PARTNER_WEBHOOK_URL: 'https://partner.example/hooks' })).toEqual([
      expect.stringMatching(/^PARTNER_WEBHOOK_SECRET: required/),
    ]);
    const c = loadConfig({ PARTNER_WEBHOOK_URL: 'https://partner.example/hooks', PARTNER_WEBHOOK_SECRET: 'whsec_c2VjcmV0' });
    expect(c.PARTNER_WEBHOOK_SECRET).toBe('whsec_c2VjcmV0');
  });
});
