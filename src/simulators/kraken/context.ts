/**
 * Everything a request handler of the Kraken simulator needs, built once from the options.
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { mergeFaults, NO_FAULTS } from '../shared/faults.js';
import { createTaskTracker, type TaskTracker } from '../shared/tasks.js';
import { createTokenBucket, type TokenBucket } from '../shared/token-bucket.js';
import { createOutcomeEngine, type OutcomeEngine } from './outcomes.js';
import { createKrakenState, type KrakenState } from './state.js';
import type { KrakenFaults, KrakenSimulatorOptions } from './types.js';
import { createWebhookDispatcher, type WebhookDispatcher } from './webhooks.js';

const DAY_MS = 86_400_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface SimContext {
  apiKey: string;
  apiSecret: string;
  duplicateExternalId: 'conflict_with_iiban' | 'conflict_without_iiban';
  clock: Clock;
  random: () => number;
  state: KrakenState;
  tasks: TaskTracker;
  webhooks: WebhookDispatcher;
  outcomes: OutcomeEngine;
  limiter: TokenBucket | undefined;
  faults(): KrakenFaults;
  setFaults(f: Partial<KrakenFaults>): void;
  /** The secret deliveries are signed with now (returned once by `POST /b2b/webhooks`). */
  webhookSecret(): string;
  rotateSecret(newSecret: string, overlapMs: number): void;
  logger: { warn(obj: object, msg?: string): void } | undefined;
}

function share(v: number): number {
  if (!(v >= 0 && v <= 1)) {
    throw new Error(`fault "requestTimeout": ${v} must be a share between 0 and 1`);
  }
  return v;
}

function checkOptions(o: KrakenSimulatorOptions): void {
  const problems: string[] = [];
  if (!o.apiKey) problems.push('apiKey is required');
  if (!o.apiSecret || !BASE64.test(o.apiSecret)) problems.push('apiSecret must be base64');
  if (o.webhookSecrets.length === 0 || o.webhookSecrets.some((s) => !BASE64.test(s))) {
    problems.push('webhookSecrets needs at least one secret, each base64');
  }
  for (const k of [
    'retryWindowMs',
    'decisionDelayMs',
    'onboardingDeadlineMs',
    'actionDeadlineMs',
  ] as const) {
    const v = o[k];
    if (v !== undefined && !(v >= 0)) problems.push(`${k} must be >= 0`);
  }
  if (problems.length > 0) throw new Error(`kraken simulator: ${problems.join('; ')}`);
}

export function createSimContext(o: KrakenSimulatorOptions): SimContext {
  checkOptions(o);
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const logger = o.logger;
  const merge = (base: KrakenFaults, f: Partial<KrakenFaults> = {}): KrakenFaults => {
    const { requestTimeout, ...shared } = f;
    return {
      ...mergeFaults(base, shared),
      requestTimeout: requestTimeout === undefined ? base.requestTimeout : share(requestTimeout),
    };
  };
  let faults = merge({ ...NO_FAULTS, requestTimeout: 0 }, o.faults);
  let secret = o.webhookSecrets[0]!;
  const state = createKrakenState({ clock, random, iibanSpaces: o.iibanSpaces ?? true });
  const tasks = createTaskTracker((err) =>
    logger?.warn({ err }, 'kraken simulator: background task failed'),
  );
  const webhooks = createWebhookDispatcher({
    tasks,
    state,
    clock,
    random,
    faults: () => faults,
    retryWindowMs: o.retryWindowMs ?? 300_000,
    secret,
    logger,
  });
  const outcomes = createOutcomeEngine({
    state,
    tasks,
    webhooks,
    decisionDelayMs: o.decisionDelayMs ?? 1500,
    autoVerify: o.autoVerify ?? true,
    onboardingDeadlineMs: o.onboardingDeadlineMs ?? 30 * DAY_MS,
    actionDeadlineMs: o.actionDeadlineMs ?? 14 * DAY_MS,
    now: () => clock.now().getTime(),
  });
  return {
    apiKey: o.apiKey,
    apiSecret: o.apiSecret,
    duplicateExternalId: o.duplicateExternalId ?? 'conflict_with_iiban',
    clock,
    random,
    state,
    tasks,
    webhooks,
    outcomes,
    limiter: o.rateLimit ? createTokenBucket({ ...o.rateLimit, clock }) : undefined,
    faults: () => faults,
    setFaults(f) {
      faults = merge(faults, f);
    },
    webhookSecret: () => secret,
    rotateSecret(newSecret, overlapMs) {
      if (!BASE64.test(newSecret)) {
        throw new Error('kraken simulator: a webhook secret must be base64');
      }
      secret = newSecret;
      webhooks.rotateSecret(newSecret, overlapMs);
    },
    logger,
  };
}
