/**
 * Everything a request handler of the simulator needs, built once from the options.
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { mergeFaults, NO_FAULTS, type SimFaults } from '../shared/faults.js';
import { createTaskTracker, type TaskTracker } from '../shared/tasks.js';
import { createTokenBucket, type TokenBucket } from '../shared/token-bucket.js';
import { createOutcomeEngine, type OutcomeEngine } from './outcomes.js';
import { createKiraState, type KiraState } from './state.js';
import type { KiraSimulatorOptions } from './types.js';
import { createWebhookDispatcher, type WebhookDispatcher } from './webhooks.js';

export interface SimContext {
  apiKey: string;
  clientId: string;
  password: string;
  tokenTtlSeconds: number;
  idempotencyReplay: 'replay' | 'conflict';
  listItemsCarryExternalId: boolean;
  clock: Clock;
  random: () => number;
  state: KiraState;
  tasks: TaskTracker;
  webhooks: WebhookDispatcher;
  outcomes: OutcomeEngine;
  limiter: TokenBucket | undefined;
  faults(): SimFaults;
  setFaults(f: Partial<SimFaults>): void;
  logger: { warn(obj: object, msg?: string): void } | undefined;
}

function checkOptions(o: KiraSimulatorOptions): void {
  const problems: string[] = [];
  if (!o.apiKey || !o.clientId || !o.password)
    {problems.push('apiKey, clientId and password are required');}
  if (o.webhookSecrets.length === 0 || !o.webhookSecrets[0])
    {problems.push('webhookSecrets needs at least one secret');}
  if (o.tokenTtlSeconds !== undefined && !(o.tokenTtlSeconds > 0))
    {problems.push('tokenTtlSeconds must be > 0');}
  for (const k of ['autoRejectDelayMs', 'verifyDelayMs'] as const) {
    const v = o[k];
    if (v !== undefined && !(v >= 0)) problems.push(`${k} must be >= 0`);
  }
  if (Array.isArray(o.retryMode) && o.retryMode.some((ms) => !(ms >= 0)))
    {problems.push('retryMode delays must be >= 0');}
  if (problems.length > 0) throw new Error(`kira simulator: ${problems.join('; ')}`);
}

export function createSimContext(o: KiraSimulatorOptions): SimContext {
  checkOptions(o);
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const logger = o.logger;
  let faults = mergeFaults(NO_FAULTS, o.faults);
  const state = createKiraState(clock);
  const tasks = createTaskTracker((err) =>
    logger?.warn({ err }, 'kira simulator: background task failed'),
  );
  const webhooks = createWebhookDispatcher({
    tasks,
    state,
    clock,
    random,
    faults: () => faults,
    retrySchedule: o.retryMode === undefined || o.retryMode === 'none' ? [] : [...o.retryMode],
    secret: o.webhookSecrets[0]!,
    url: o.webhookUrl,
    fetch: o.webhookFetch,
    logger,
  });
  const outcomes = createOutcomeEngine({
    state,
    tasks,
    webhooks,
    autoRejectDelayMs: o.autoRejectDelayMs ?? 1500,
    verifyDelayMs: o.verifyDelayMs ?? 1500,
    // DESIGN.md's outcome table, not the sandbox's "no auto-verify" (see the option's TSDoc).
    autoVerify: o.autoVerify ?? true,
  });
  const rate = o.rateLimit === undefined ? { perSecond: 20, burst: 50 } : o.rateLimit;
  return {
    apiKey: o.apiKey,
    clientId: o.clientId,
    password: o.password,
    tokenTtlSeconds: o.tokenTtlSeconds ?? 3600,
    idempotencyReplay: o.idempotencyReplay ?? 'replay',
    listItemsCarryExternalId: o.listItemsCarryExternalId ?? true,
    clock,
    random,
    state,
    tasks,
    webhooks,
    outcomes,
    limiter: rate === false ? undefined : createTokenBucket({ ...rate, clock }),
    faults: () => faults,
    setFaults(f) {
      faults = mergeFaults(faults, f);
    },
    logger,
  };
}
