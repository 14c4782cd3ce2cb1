/**
 * Everything a request handler of the simulator needs, built once from the options.
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { mergeFaults, NO_FAULTS, type SimFaults } from '../shared/faults.js';
import { createTaskTracker, type TaskTracker } from '../shared/tasks.js';
import { createTokenBucket, type TokenBucket } from '../shared/token-bucket.js';
import { createOutcomeEngine, type OutcomeEngine } from './outcomes.js';
import { createWealthyhoodState, type WealthyhoodState } from './state.js';
import type { WealthyhoodSchema, WealthyhoodSimulatorOptions } from './types.js';

export const DEFAULT_SCOPES = ['read:users', 'write:users'];

export interface SimContext {
  clientId: string;
  clientSecret: string;
  audience: string;
  schema: WealthyhoodSchema;
  tokenTtlSeconds: number;
  grantedScopes: string[];
  duplicateEmail: 409 | 400;
  emailLookup: boolean;
  clock: Clock;
  random: () => number;
  state: WealthyhoodState;
  tasks: TaskTracker;
  outcomes: OutcomeEngine;
  limiter: TokenBucket | undefined;
  faults(): SimFaults;
  setFaults(f: Partial<SimFaults>): void;
  logger: { warn(obj: object, msg?: string): void } | undefined;
}

function checkOptions(o: WealthyhoodSimulatorOptions): void {
  const problems: string[] = [];
  if (!o.clientId || !o.clientSecret || !o.audience) {
    problems.push('clientId, clientSecret and audience are required');
  }
  if (o.tokenTtlSeconds !== undefined && !(o.tokenTtlSeconds > 0)) {
    problems.push('tokenTtlSeconds must be > 0');
  }
  if (o.decisionDelayMs !== undefined && !(o.decisionDelayMs >= 0)) {
    problems.push('decisionDelayMs must be >= 0');
  }
  if (o.schema !== undefined && o.schema !== 'v1' && o.schema !== 'v2') {
    problems.push('schema must be v1 or v2');
  }
  if (o.duplicateEmail !== undefined && o.duplicateEmail !== 409 && o.duplicateEmail !== 400) {
    problems.push('duplicateEmail must be 409 or 400');
  }
  if (problems.length > 0) throw new Error(`wealthyhood simulator: ${problems.join('; ')}`);
}

export function createSimContext(o: WealthyhoodSimulatorOptions): SimContext {
  checkOptions(o);
  const clock = o.clock ?? systemClock;
  const logger = o.logger;
  let faults = mergeFaults(NO_FAULTS, o.faults);
  const state = createWealthyhoodState(clock);
  const tasks = createTaskTracker((err) =>
    logger?.warn({ err }, 'wealthyhood simulator: background task failed'),
  );
  const rate = o.rateLimit ?? false;
  return {
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    audience: o.audience,
    schema: o.schema ?? 'v2',
    tokenTtlSeconds: o.tokenTtlSeconds ?? 3600,
    grantedScopes: o.grantedScopes ?? DEFAULT_SCOPES,
    duplicateEmail: o.duplicateEmail ?? 409,
    emailLookup: o.emailLookup ?? true,
    clock,
    random: o.random ?? Math.random,
    state,
    tasks,
    outcomes: createOutcomeEngine({ state, tasks, decisionDelayMs: o.decisionDelayMs ?? 1500 }),
    limiter: rate === false ? undefined : createTokenBucket({ ...rate, clock }),
    faults: () => faults,
    setFaults(f) {
      faults = mergeFaults(faults, f);
    },
    logger,
  };
}
