/**
 * reconcile-tick: claims the cases whose poll is due (a sorted set by next-poll time, so a tick
 * costs in proportion to the cases due, not to all cases) and queues one poll each. With partner
 * notifications on, it also sweeps a bounded slice of the outbox-pending set so that every case
 * with notifications waiting has its delivery job (see notifications/index.ts).
 */
import type { Clock } from '../lib/clock.js';
import type { Producer } from '../queue/producer.js';
import type { CaseStore } from '../store/case-store.js';

export function reconcileTickProcessor(deps: { store: CaseStore; producer: Producer; clock: Clock; batch?: number; leaseMs?: number; notifications?: { sweep(): Promise<number> } }) {
  return async (): Promise<string> => {
    const now = deps.clock.now();
    const ids = await deps.store.claimDue(now, deps.batch ?? 500, deps.leaseMs ?? 120_000);
    // Three round trips however many are due: the claim, one pipeline of reads, one add per provider.
    const cases = (await deps.store.getMany(ids)).filter((c) => c !== null);
    await deps.producer.enqueuePolls(cases, now);
    if (!deps.notifications) return `polls:${cases.length}`;
    return `polls:${cases.length} notify:${await deps.notifications.sweep()}`;
  };
}
