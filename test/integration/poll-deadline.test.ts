/**
 * Deadline escalation in the store and poll path (real Redis, injected clock): a known provider
 * deadline caps the next poll at `deadline − DEADLINE_MARGIN`, on the transition path and in
 * `schedulePoll`, and the poll escalates exactly from that moment on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import { fixedClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { ProviderAdapter, ProviderUserState } from '../../src/providers/provider-adapter.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import { createCaseCommands } from '../../src/queue/case-commands.js';
import { createProducer } from '../../src/queue/producer.js';
import type { RedisClient } from '../../src/queue/redis.js';
import { createCaseStore } from '../../src/store/case-store.js';
import { pollProcessor } from '../../src/workers/poll.processor.js';
import { providerEventProcessor } from '../../src/workers/provider-event.processor.js';
import { connectRedis, dropPrefix, uniquePrefix } from '../helpers/redis.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A provider whose GET reports the user pending with `deadline` (injected, no HTTP). */
function pendingProvider(deadline: () => string): ProviderAdapter {
  const state = (id: string): ProviderUserState => ({
    providerUserId: id,
    providerStatus: 'onboarding',
    outcome: 'pending',
    terminal: false,
    reasons: [],
    deadline: deadline(),
  });
  const never = () => Promise.reject(new Error('not used'));
  return {
    id: 'kraken',
    rateLimit: { max: 100, durationMs: 1000 },
    preflight: () => [],
    createUser: never,
    getUser: (id) => Promise.resolve(state(id)),
    remediate: never,
    webhooks: true,
    verifyWebhook: () => ({ ok: false, reason: 'bad_signature' }),
    parseWebhook: () => ({ kind: 'unusable', problem: 'not used' }),
  };
}

function setup(schedule: number[]) {
  const prefix = uniquePrefix();
  const redis: RedisClient = connectRedis();
  const clock = fixedClock('2026-03-01T00:00:00.000Z');
  const store = createCaseStore({
    redis,
    prefix,
    policy: { maxAttempts: 3 },
    pollSchedule: schedule,
    deadlineMarginMs: DAY,
  });
  const producer = createProducer({
    connection: redis,
    prefix,
    providers: ['kraken'],
    dedupeTtlMs: 60_000,
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const commands = createCaseCommands({ store, producer, metrics, clock });
  cleanups.push(async () => {
    await producer.close();
    await dropPrefix(prefix);
    redis.disconnect();
  });
  const score = async (id: string) => Number(await redis.zscore(store.keys.reconcile(), id));
  return { store, producer, metrics, commands, clock, score };
}

const applicant: Applicant = { externalId: 'poll-deadline-1' };
const job = (caseId: string) => ({
  name: 'poll',
  data: { caseId },
  attemptsMade: 0,
  opts: { attempts: 3 },
});

describe('deadline escalation in the store and poll path', () => {
  it('caps the next poll at deadline − margin (transition path and schedulePoll), and escalates from then on', async () => {
    const { store, producer, metrics, commands, clock, score } = setup([200, DAY]);
    const { case: c } = await store.create('kraken', applicant, clock.now());
    await store.apply(
      c.id,
      { kind: 'user_created', providerUserId: 'AA00 TEST EXAM PLE1', adopted: false },
      { now: clock.now() },
    );
    expect(await score(c.id)).toBe(clock.now().getTime() + 200);

    // Polled: the provider reports a deadline 24 h + 1 h ahead.
    const deadline = new Date(clock.now().getTime() + DAY + HOUR).toISOString();
    const escalateAt = Date.parse(deadline) - DAY;
    const log = createLogger({ level: 'silent' });
    const pollOnly = pollProcessor({
      store,
      commands,
      producer,
      metrics,
      clock,
      deadlineMarginMs: DAY,
      providers: createProviderRegistry([pendingProvider(() => deadline)]),
      log,
    });
    // A poll queues what it read on kyc-events; the events worker applies it: do both here.
    const onEvent = providerEventProcessor({ store, commands, metrics, log });
    const events = producer.queues().find((q) => q.name === 'kyc-events')!;
    const applied = new Set<string>();
    const poll = async (j: ReturnType<typeof job>, signal: AbortSignal): Promise<string> => {
      const queued = await pollOnly(j, signal);
      const outcomes: string[] = [];
      // (not removed: removing a job also drops its dedupe key, which the next poll relies on)
      for (const e of await events.getWaiting()) {
        if (applied.has(e.id!)) continue;
        applied.add(e.id!);
        outcomes.push(await onEvent({ name: e.name, data: e.data, attemptsMade: 0, opts: { attempts: 1 } }));
      }
      return outcomes.length > 0 ? outcomes.join(',') : queued;
    };
    clock.advance(200);
    expect(await poll(job(c.id), AbortSignal.timeout(5_000))).toBe('applied');
    expect((await store.get(c.id))!.deadline).toBe(deadline);
    // The recorded deadline changes no status, so the case's age goes on (200 ms: past the first
    // step); the daily step is capped at deadline − margin.
    expect(await score(c.id)).toBe(escalateAt);

    // The next poll: unchanged state. The plain schedule says a day (past the deadline − 1 h);
    // the cap says deadline − 24 h.
    clock.advance(200);
    expect(await poll(job(c.id), AbortSignal.timeout(5_000))).toBe('unchanged');
    expect(await score(c.id)).toBe(escalateAt);
    await store.schedulePoll((await store.get(c.id))!, clock.now());
    expect(await score(c.id)).toBe(escalateAt);

    // A millisecond before deadline − margin: no escalation. At it: escalated.
    clock.set(new Date(escalateAt - 1).toISOString());
    await poll(job(c.id), AbortSignal.timeout(5_000));
    expect((await store.get(c.id))!.status).toBe('awaiting_verification');
    clock.set(new Date(escalateAt).toISOString());
    await poll(job(c.id), AbortSignal.timeout(5_000));
    const escalated = (await store.get(c.id))!;
    expect(escalated.status).toBe('escalated');
    expect(escalated.escalation!.proposedAction).toContain(deadline);
    expect(Date.parse(deadline) - Date.parse(escalated.escalation!.since)).toBe(DAY);
    // Escalated and past the cap: back to the plain schedule, not a poll at every tick.
    expect(await score(c.id)).toBe(clock.now().getTime() + 200);
  });
});
