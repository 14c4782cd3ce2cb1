/**
 * The case store on Redis. Every change is a compare-and-set on the case version (Lua), which
 * also appends the hash-chained timeline entry and records the input key, so an input applied
 * once is never applied again, whichever process runs it and however often.
 */
import type { RedisClient } from '../queue/redis.js';
import { chainEntry, GENESIS_HASH, verifyChain, type ChainVerdict } from '../kyc/audit.js';
import type { Applicant } from '../kyc/applicant.js';
import { decide, type CaseInput, type Policy, type Transition } from '../kyc/state-machine.js';
import { isTerminal, type CaseStatus, type KycCase, type ProviderEvent, type ProviderId, type TimelineEntry } from '../kyc/types.js';
import { newId } from '../lib/ids.js';
import { boundedMemo } from '../lib/memo.js';
import { notificationFor } from '../notifications/notification.js';
import { storeKeys, type StoreKeys } from './keys.js';
import { APPLY_TRANSITION, CLAIM_DUE, CREATE_CASE, READ_CASE } from './scripts.js';
import { DEFAULT_DEADLINE_MARGIN_MS, nextPollAt, type PollPlan } from './poll-schedule.js';

/**
 * A case as read, with its timeline head and length: what `apply` decides on. Handing the one an
 * `apply` answered to the next `apply` of the same job saves a read; if another process changed
 * the case meanwhile, the compare-and-set fails and `apply` reads afresh.
 */
export interface CaseSnapshot {
  c: KycCase;
  head: string;
  seq: number;
  /** The applicant as stored in the hash's own field (false: a record written before it had one). */
  appStored: boolean;
}

export type ApplyResult =
  | { outcome: 'applied'; case: KycCase; previous: KycCase; transition: Transition; snapshot: CaseSnapshot }
  | { outcome: 'noop'; case: KycCase; snapshot: CaseSnapshot }
  | { outcome: 'duplicate'; case: KycCase }
  | { outcome: 'missing' };

export interface CaseListQuery {
  status?: CaseStatus;
  provider?: ProviderId;
  limit: number;
  cursor?: string;
}

type StoreRedis = RedisClient & {
  kycCreateCase(...args: (string | number)[]): Promise<string>;
  kycApply(...args: (string | number)[]): Promise<number>;
  kycClaimDue(...args: (string | number)[]): Promise<string[]>;
  kycRead(caseKey: string, timelineKey: string): Promise<StoredCase>;
};

const MAX_CAS_ATTEMPTS = 20;

/** Provider-user links remembered per process (~100 B each): the cases in flight, and then some. */
const LINKS_REMEMBERED = 20_000;

/**
 * Snapshots this process wrote, remembered per case (a few KB each): the cases in flight, whose
 * next input (the webhook after a create, the one after it) then needs no read. See `apply`.
 */
const SNAPSHOTS_REMEMBERED = 5_000;

export interface CaseStoreDeps {
  redis: RedisClient;
  prefix: string;
  policy: Policy;
  /** Delays between polls of a waiting case (RECONCILE_SCHEDULE), chosen by the case's age. */
  pollSchedule: readonly number[];
  /** Escalate this long before a provider deadline (DEADLINE_MARGIN, default 24 h): no poll is planned later than that. */
  deadlineMarginMs?: number;
  /** Write a partner notification to the case's outbox with each decision (PARTNER_WEBHOOK_URL is set). */
  notifications?: boolean;
}

export function createCaseStore(deps: CaseStoreDeps) {
  const keys: StoreKeys = storeKeys(deps.prefix);
  const redis = deps.redis as StoreRedis;
  const plan: PollPlan = { schedule: deps.pollSchedule, deadlineMarginMs: deps.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS };
  const linked = boundedMemo<string>(LINKS_REMEMBERED);
  const written = boundedMemo<CaseSnapshot>(SNAPSHOTS_REMEMBERED);
  /** The last apply started per case, settled or not (see `apply`); removed once it settles. */
  const applying = new Map<string, Promise<void>>();
  deps.redis.defineCommand('kycCreateCase', { numberOfKeys: 5, lua: CREATE_CASE });
  deps.redis.defineCommand('kycApply', { numberOfKeys: 10, lua: APPLY_TRANSITION });
  deps.redis.defineCommand('kycClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
  deps.redis.defineCommand('kycRead', { numberOfKeys: 2, lua: READ_CASE });

  async function read(id: string): Promise<CaseSnapshot | null> {
    return snapshotOf(await redis.kycRead(keys.case(id), keys.timeline(id)));
  }

  /** Many cases in one round trip (a pipeline of reads), in the order asked; null for a missing one. */
  async function getMany(ids: readonly string[]): Promise<(KycCase | null)[]> {
    if (ids.length === 0) return [];
    const p = redis.pipeline() as unknown as { kycRead(caseKey: string, timelineKey: string): unknown; exec(): Promise<[Error | null, unknown][] | null> };
    for (const id of ids) p.kycRead(keys.case(id), keys.timeline(id));
    const res = (await p.exec()) ?? [];
    return res.map(([err, raw]) => {
      if (err) throw err;
      return snapshotOf(raw as StoredCase)?.c ?? null;
    });
  }

  async function create(provider: ProviderId, applicant: Applicant, now: Date): Promise<{ case: KycCase; created: boolean }> {
    const id = newId();
    const at = now.toISOString();
    const c: KycCase = {
      id, provider, externalId: applicant.externalId, status: 'queued', applicant, reasons: [],
      attempts: 0, createRound: 0, version: 1, createdAt: at, updatedAt: at, statusSince: at,
    };
    const entry = chainEntry({ seq: 0, at, source: 'api', event: 'onboarding_received', from: null, to: 'queued' }, GENESIS_HASH);
    const got = await redis.kycCreateCase(
      keys.byExternalId(provider, applicant.externalId), keys.case(id), keys.timeline(id), keys.all(), keys.status('queued'),
      id, docOf(c), JSON.stringify(entry), entry.hash, now.getTime(), JSON.stringify(applicant),
    );
    if (got === id) return { case: c, created: true };
    const existing = await read(got);
    if (!existing) throw new Error(`case index points at a missing case ${got}`);
    return { case: existing.c, created: false };
  }

  /**
   * Decides and applies one input with compare-and-set, retrying on concurrent changes.
   * `inputKey` (e.g. `evt:<providerEventId>`) makes the input idempotent across runs.
   *
   * The first attempt decides on `opts.current` when given, else on the snapshot this process
   * last wrote for the case, if it remembers one: no read. Another process may have changed the
   * case since; then the version no longer matches, the write is refused and the next attempt
   * reads. A remembered snapshot is only trusted to write: "nothing to do" or a refusal (a
   * conflict) decided on it is decided again on a fresh read.
   */
  function apply(id: string, input: CaseInput, opts: { now: Date; inputKey?: string; current?: CaseSnapshot }): Promise<ApplyResult> {
    // One apply per case at a time in this process: the next one then decides on the snapshot
    // the previous one wrote, where two at once (a case's two webhooks, run side by side) would
    // both decide on the same version, and the loser would pay a refused write and a read.
    const before = applying.get(id);
    const run = before ? before.then(() => applyNow(id, input, opts)) : applyNow(id, input, opts);
    const settled = run.then(ignore, ignore);
    applying.set(id, settled);
    void settled.then(() => {
      if (applying.get(id) === settled) applying.delete(id);
    });
    return run;
  }

  async function applyNow(id: string, input: CaseInput, opts: { now: Date; inputKey?: string; current?: CaseSnapshot }): Promise<ApplyResult> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const given = i === 0 && opts.current?.c.id === id ? opts.current : undefined;
      const last = i === 0 ? written.get(id) : undefined;
      // The newer of the two: an apply that waited behind another finds that one's snapshot here.
      const remembered = last && (!given || last.c.version > given.c.version) ? last : undefined;
      const cur = remembered ?? given ?? (await read(id));
      if (!cur) return { outcome: 'missing' };
      let t: Transition | null;
      try {
        t = decide(cur.c, input, deps.policy, opts.now);
      } catch (err) {
        if (remembered) continue;
        throw err;
      }
      if (!t && remembered) continue;
      if (!t) return { outcome: 'noop', case: cur.c, snapshot: cur };
      const at = opts.now.toISOString();
      const statusSince = t.to !== cur.c.status ? at : (cur.c.statusSince ?? cur.c.createdAt);
      const next: KycCase = { ...cur.c, ...t.patch, status: t.to, version: cur.c.version + 1, updatedAt: at, statusSince };
      const entry = chainEntry(
        { seq: cur.seq, at, source: t.source, event: t.event, from: cur.c.status, to: t.to, ...(t.reasons?.length ? { reasons: t.reasons } : {}), ...(t.detail ? { detail: t.detail } : {}) },
        cur.head,
      );
      const linkUser = next.providerUserId !== undefined && next.providerUserId !== cur.c.providerUserId;
      const userIndex = linkUser ? keys.byProviderUser(next.provider, next.providerUserId!) : undefined;
      // A transition that asks for it (an event whose details only a GET returns) is polled at the next tick.
      const nextPoll = isTerminal(next.status) ? '-'
        : !next.providerUserId ? ''
          : t.pollNow ? String(opts.now.getTime())
            : linkUser || next.status !== cur.c.status || next.deadline !== cur.c.deadline ? String(nextPollAt(next, opts.now, plan)) : '';
      const ntf = deps.notifications ? notificationFor(next, { from: cur.c.status, to: t.to, event: t.event, reasons: t.reasons }, entry) : null;
      // Most transitions leave the applicant as it was: it is then not sent again.
      const app = next.applicant !== cur.c.applicant || !cur.appStored ? JSON.stringify(next.applicant) : '';
      const r = await redis.kycApply(
        keys.case(id), keys.timeline(id), keys.applied(id), keys.status(cur.c.status), keys.status(t.to),
        userIndex ?? keys.case(id), keys.reconcile(),
        keys.outbox(id), keys.outboxPending(), keys.notificationDlq(),
        String(cur.c.version), docOf(next), JSON.stringify(entry), entry.hash,
        opts.inputKey ?? '', id, opts.now.getTime(), linkUser ? '1' : '0', nextPoll, ntf ? JSON.stringify(ntf) : '', app,
      );
      if (r === 1) {
        if (userIndex) linked.remember(userIndex, id);
        const snapshot = { c: next, head: entry.hash, seq: cur.seq + 1, appStored: true };
        written.remember(id, snapshot);
        return { outcome: 'applied', case: next, previous: cur.c, transition: t, snapshot };
      }
      if (r === 2) return { outcome: 'duplicate', case: cur.c };
      if (r === -1) return { outcome: 'missing' };
    }
    throw new Error(`case ${id}: too many concurrent changes`);
  }

  /** Claims up to `limit` cases whose poll is due, leasing each for `leaseMs`. */
  async function claimDue(now: Date, limit: number, leaseMs: number): Promise<string[]> {
    return redis.kycClaimDue(keys.reconcile(), now.getTime(), limit, now.getTime() + leaseMs);
  }

  /** Schedules a case's next poll by its age and deadline (or stops polling a terminal case). */
  async function schedulePoll(c: KycCase, now: Date): Promise<void> {
    if (isTerminal(c.status) || !c.providerUserId) await redis.zrem(keys.reconcile(), c.id);
    else await redis.zadd(keys.reconcile(), nextPollAt(c, now, plan), c.id);
  }

  async function get(id: string): Promise<KycCase | null> {
    return (await read(id))?.c ?? null;
  }

  async function timeline(id: string): Promise<{ entries: TimelineEntry[]; head: string }> {
    const [[, list], [, head]] = (await redis.multi().lrange(keys.timeline(id), 0, -1).hget(keys.case(id), 'h').exec()) as [[null, string[]], [null, string | null]];
    return { entries: list.map((s) => JSON.parse(s) as TimelineEntry), head: head ?? GENESIS_HASH };
  }

  /** Verifies the case's hash chain against the head hash stored with the case. */
  async function verifyAudit(id: string): Promise<ChainVerdict | null> {
    if (!(await redis.exists(keys.case(id)))) return null;
    const { entries, head } = await timeline(id);
    return verifyChain(entries, head);
  }

  /**
   * The case a provider user belongs to. A link is written once, when the case's create (or
   * adoption) succeeds, and never changes (one provider user per case and one case per partner
   * user), so a link this process made or read is remembered: the events that follow a create
   * are then routed without a round trip. An unknown user is always asked again (its link may
   * be on its way).
   */
  async function findByProviderUser(provider: ProviderId, providerUserId: string): Promise<string | null> {
    const key = keys.byProviderUser(provider, providerUserId);
    const known = linked.get(key);
    if (known) return known;
    const id = await redis.get(key);
    if (id) linked.remember(key, id);
    return id;
  }

  async function findByExternalId(provider: ProviderId, externalId: string): Promise<string | null> {
    return redis.get(keys.byExternalId(provider, externalId));
  }

  /**
   * Oldest first (by the time each case entered its status). Cursor is an opaque offset. A page
   * holds at most `limit` items, and fewer when a provider filter scans 1,000 cases without
   * filling it; `nextCursor` is set whenever cases remain to be scanned.
   */
  async function list(q: CaseListQuery): Promise<{ items: KycCase[]; nextCursor?: string }> {
    const key = q.status ? keys.status(q.status) : keys.all();
    let offset = q.cursor ? decodeCursor(q.cursor) : 0;
    const items: KycCase[] = [];
    const batch = Math.max(q.limit, 50);
    for (let rounds = 0; items.length < q.limit && rounds < 20; rounds++) {
      const ids = await redis.zrange(key, String(offset), String(offset + batch - 1));
      if (ids.length === 0) return { items };
      for (const [i, id] of ids.entries()) {
        const c = await get(id);
        if (c && (!q.provider || c.provider === q.provider)) items.push(c);
        if (items.length === q.limit) {
          const next = offset + i + 1;
          return { items, nextCursor: next < (await redis.zcard(key)) ? encodeCursor(next) : undefined };
        }
      }
      offset += ids.length;
    }
    // A page may come back short when a provider filter skips many cases: the cursor then says
    // where the scan stopped, so the caller goes on instead of taking the short page for the end.
    return { items, nextCursor: offset < (await redis.zcard(key)) ? encodeCursor(offset) : undefined };
  }

  async function countByStatus(status: CaseStatus): Promise<number> {
    return redis.zcard(keys.status(status));
  }

  /** Signed webhooks whose body we could not use: kept (capped) for inspection, never dropped silently. */
  async function keepUnusableWebhook(rec: { provider: ProviderId; problem: string; eventId?: string; receivedAt: string; body: string }): Promise<void> {
    await redis.multi().lpush(keys.unusableWebhooks(), JSON.stringify(rec)).ltrim(keys.unusableWebhooks(), 0, 9_999).exec();
  }

  /** Events whose provider user matches no case, after every retry: kept for inspection. */
  async function keepUnmatchedEvent(event: ProviderEvent): Promise<void> {
    await redis.multi().lpush(keys.unmatchedEvents(), JSON.stringify(event)).ltrim(keys.unmatchedEvents(), 0, 9_999).exec();
  }

  async function unusableWebhooks(limit = 100): Promise<{ provider: string; problem: string; eventId?: string; receivedAt: string }[]> {
    const raw = await redis.lrange(keys.unusableWebhooks(), 0, limit - 1);
    return raw.map((s) => {
      const { body: _b, ...rest } = JSON.parse(s) as { body: string; provider: string; problem: string; eventId?: string; receivedAt: string };
      return rest;
    });
  }

  return {
    create, apply, claimDue, schedulePoll, get, getMany,
    /** The case with its timeline head, to hand to `apply` (see CaseSnapshot). */
    snapshot: read,
    timeline, verifyAudit, findByProviderUser, findByExternalId, list, countByStatus, keepUnusableWebhook, keepUnmatchedEvent, unusableWebhooks, keys,
  };
}

export type CaseStore = ReturnType<typeof createCaseStore>;

/** A READ_CASE answer: [[v, doc, h, app], timeline length]. */
type StoredCase = [(string | null)[], number];

/** A READ_CASE answer as a snapshot; null when there is no case. */
function snapshotOf([raw, len]: StoredCase): CaseSnapshot | null {
  const [v, doc, h, app] = raw;
  if (!v || !doc) return null;
  const stored = JSON.parse(doc) as KycCase;
  // A record written before the applicant had a field of its own holds it in the doc.
  const applicant = app ? (JSON.parse(app) as Applicant) : stored.applicant;
  return { c: { ...stored, applicant, version: Number(v) }, head: h ?? GENESIS_HASH, seq: len, appStored: Boolean(app) };
}

function ignore(): void {}

/** The `doc` field: the case without its version (the `v` field) and applicant (the `app` field). */
function docOf(c: KycCase): string {
  const { version: _v, applicant: _a, ...rest } = c;
  return JSON.stringify(rest);
}

function encodeCursor(n: number): string {
  return Buffer.from(`o:${n}`).toString('base64url');
}

export function decodeCursor(s: string): number {
  const m = /^o:(\d+)$/.exec(Buffer.from(s, 'base64url').toString());
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new RangeError('invalid cursor');
  return n;
}
