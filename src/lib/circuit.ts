/**
 * Circuit breaker: the pure decisions (admit a call? what does its outcome change?) and a breaker
 * that applies them to a shared state cell with compare-and-swap, so that every process and host
 * that shares the cell (Redis, see store/circuit-breaker.ts) sees and moves the same circuit.
 *
 * - closed: calls go through; `failureThreshold` consecutive failures open the circuit. A success
 *   resets the count; a neutral outcome (429, our own abort) changes nothing.
 * - open: no call goes through until the cool-down has passed (`openForMs`, doubled after every
 *   failed probe up to `maxOpenForMs`).
 * - half_open: exactly one call (the probe) goes through at a time, holding a lease of
 *   `probeLeaseMs` (a probe whose process died is replaced once the lease lapses). Its success
 *   closes the circuit, its failure re-opens it for a longer cool-down.
 *
 * Every record carries an `epoch` that changes on each state change, and every admitted call a
 * ticket with the epoch it was admitted in: an outcome from an older epoch (a call admitted
 * before the circuit opened, a probe whose lease was taken over) is ignored, so stale results
 * never re-open a circuit that just closed, nor close one that just re-opened.
 */
import type { Clock } from './clock.js';

export type CircuitState = 'closed' | 'open' | 'half_open';
export type CallOutcome = 'success' | 'failure' | 'neutral';

export interface CircuitPolicy {
  /** Consecutive failures that open a closed circuit. */
  failureThreshold: number;
  /** Cool-down after the circuit opens. */
  openForMs: number;
  /** Longest cool-down after repeated failed probes. */
  maxOpenForMs: number;
  /** How long a probe holds the half-open lease before another call may probe instead. */
  probeLeaseMs: number;
  /** Longest a call refused because a probe is in flight is told to wait (default 1 s). */
  probeWaitMs?: number;
  /**
   * How long this process trusts a closed record it has seen (default 0: never). Within it, a
   * call is admitted, and its success on a circuit with no failures counted is recorded, without
   * reading the shared cell: on a healthy provider that is every call, two reads saved each. A
   * failure is always read and stored at once, so this process sees its own openings at once and
   * another's within this long.
   */
  closedCacheMs?: number;
}

export type CircuitRecord =
  | { state: 'closed'; epoch: number; failures: number }
  /** `trips`: openings in a row without a successful probe (drives the cool-down growth). */
  | { state: 'open'; epoch: number; until: number; trips: number }
  /** A probe holds the lease until `until`; a lapsed lease means "waiting for a probe". */
  | { state: 'half_open'; epoch: number; until: number; trips: number };

export interface Ticket {
  epoch: number;
  probe: boolean;
}

export type Admission = { ok: true; ticket: Ticket } | { ok: false; waitMs: number };

const INITIAL: CircuitRecord = { state: 'closed', epoch: 0, failures: 0 };
const DEFAULT_PROBE_WAIT_MS = 1_000;

/** Cool-down for the `trips`-th opening in a row: doubling, capped. */
export function coolDown(trips: number, p: CircuitPolicy): number {
  const cap = Math.max(p.openForMs, p.maxOpenForMs);
  return Math.min(cap, p.openForMs * 2 ** Math.max(0, trips - 1));
}

/** Decides whether a call may go through now, and the record to store if that changes it. */
export function decideAdmission(rec: CircuitRecord, now: number, p: CircuitPolicy): { admission: Admission; next?: CircuitRecord } {
  switch (rec.state) {
    case 'closed':
      return { admission: { ok: true, ticket: { epoch: rec.epoch, probe: false } } };
    case 'open':
    case 'half_open': {
      if (now < rec.until) {
        // While a probe is in flight, wait a little (it may close the circuit soon), not its whole lease.
        const waitMs = rec.state === 'open' ? rec.until - now : Math.min(rec.until - now, p.probeWaitMs ?? DEFAULT_PROBE_WAIT_MS);
        return { admission: { ok: false, waitMs } };
      }
      // Cool-down over (or the previous probe's lease lapsed): this call is the probe.
      const epoch = rec.epoch + 1;
      return {
        admission: { ok: true, ticket: { epoch, probe: true } },
        next: { state: 'half_open', epoch, until: now + p.probeLeaseMs, trips: rec.trips },
      };
    }
  }
}

/** The record after an admitted call's outcome, or undefined when nothing changes. */
export function decideOutcome(rec: CircuitRecord, ticket: Ticket, outcome: CallOutcome, now: number, p: CircuitPolicy): CircuitRecord | undefined {
  if (ticket.epoch !== rec.epoch) return undefined;
  if (outcome === 'neutral') {
    // A neutral probe (429, our own abort) proves nothing either way: release the lease for the next one.
    return ticket.probe && rec.state === 'half_open' ? { ...rec, epoch: rec.epoch + 1, until: now } : undefined;
  }
  switch (rec.state) {
    case 'closed': {
      if (outcome === 'success') return rec.failures === 0 ? undefined : { ...rec, failures: 0 };
      const failures = rec.failures + 1;
      if (failures < p.failureThreshold) return { ...rec, failures };
      return { state: 'open', epoch: rec.epoch + 1, until: now + coolDown(1, p), trips: 1 };
    }
    case 'half_open': {
      if (!ticket.probe) return undefined;
      if (outcome === 'success') return { state: 'closed', epoch: rec.epoch + 1, failures: 0 };
      const trips = rec.trips + 1;
      return { state: 'open', epoch: rec.epoch + 1, until: now + coolDown(trips, p), trips };
    }
    case 'open':
      return undefined; // no ticket is ever issued in this state's epoch
  }
}

/** What the circuit is at `now`: an open circuit past its cool-down is half-open (next call probes). */
export function effectiveState(rec: CircuitRecord, now: number): CircuitState {
  if (rec.state === 'open' && now >= rec.until) return 'half_open';
  return rec.state;
}

/** Parses a stored record; absent or unreadable means a fresh closed circuit. */
export function parseRecord(raw: string | null): CircuitRecord {
  if (!raw) return INITIAL;
  try {
    const r = JSON.parse(raw) as Partial<Record<string, unknown>>;
    const n = (k: string): number | undefined => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? r[k] : undefined);
    const epoch = n('epoch');
    if (epoch === undefined) return INITIAL;
    if (r.state === 'closed' && n('failures') !== undefined) return { state: 'closed', epoch, failures: n('failures')! };
    if ((r.state === 'open' || r.state === 'half_open') && n('until') !== undefined && n('trips') !== undefined) {
      return { state: r.state, epoch, until: n('until')!, trips: n('trips')! };
    }
  } catch {
    // fall through: a corrupt record is replaced by the next transition
  }
  return INITIAL;
}

/** Where the record lives: read it, and swap it only if it is still what was read. */
export interface CircuitCell {
  read(): Promise<string | null>;
  /** Stores `next` if the stored value is still `expected` (null: absent); else returns what is stored. */
  swap(expected: string | null, next: string): Promise<{ ok: true } | { ok: false; current: string | null }>;
}

export interface CircuitBreaker {
  /** Admits a call (closed, or as the single half-open probe) or says how long to wait. */
  admit(): Promise<Admission>;
  /** Reports an admitted call's outcome. Never throws: a lost report only delays a transition. */
  record(ticket: Ticket, outcome: CallOutcome): Promise<void>;
  /** The effective state now (metrics). */
  state(): Promise<CircuitState>;
}

export interface CircuitBreakerDeps {
  cell: CircuitCell;
  policy: CircuitPolicy;
  clock: Clock;
  /** Called by the process whose swap made the change (so summing over processes counts each once). */
  onTransition?(to: CircuitState, rec: CircuitRecord): void;
  /** A call refused while the circuit is open or a probe is in flight. */
  onReject?(waitMs: number): void;
  /** A `record` that could not be stored (e.g. Redis unreachable). */
  onError?(err: unknown): void;
}

/** Swaps lost in a row before giving up (each lost swap means another process moved the circuit). */
const MAX_SWAPS = 32;

export function createCircuitBreaker(deps: CircuitBreakerDeps): CircuitBreaker {
  const now = () => deps.clock.now().getTime();
  const cacheMs = deps.policy.closedCacheMs ?? 0;
  /** The record this process last read or stored, and when (see `closedCacheMs`). */
  let seen: { rec: CircuitRecord; at: number } | undefined;
  const trustedClosed = (): Extract<CircuitRecord, { state: 'closed' }> | undefined =>
    seen && seen.rec.state === 'closed' && now() - seen.at < cacheMs ? seen.rec : undefined;

  /** Read, decide, swap; on a lost swap decide again on what the winner stored. */
  async function update<T>(decide: (rec: CircuitRecord) => { next?: CircuitRecord; result: T }, contended: T): Promise<T> {
    let raw = await deps.cell.read();
    for (let i = 0; i < MAX_SWAPS; i += 1) {
      const rec = parseRecord(raw);
      seen = { rec, at: now() };
      const { next, result } = decide(rec);
      if (!next) return result;
      const r = await deps.cell.swap(raw, JSON.stringify(next));
      if (r.ok) {
        seen = { rec: next, at: now() };
        if (next.state !== rec.state) deps.onTransition?.(next.state, next);
        return result;
      }
      raw = r.current;
    }
    return contended;
  }

  return {
    async admit() {
      const closed = trustedClosed();
      if (closed) return { ok: true, ticket: { epoch: closed.epoch, probe: false } };
      const contendedWait = deps.policy.probeWaitMs ?? DEFAULT_PROBE_WAIT_MS;
      const admission = await update((rec) => {
        const d = decideAdmission(rec, now(), deps.policy);
        return { next: d.next, result: d.admission };
      }, { ok: false, waitMs: contendedWait });
      if (!admission.ok) deps.onReject?.(admission.waitMs);
      return admission;
    },
    async record(ticket, outcome) {
      // Outcomes that change nothing, known without a read: a neutral non-probe call, and a
      // success on a trusted closed record of the same epoch with no failures to reset.
      if (outcome === 'neutral' && !ticket.probe) return;
      const closed = trustedClosed();
      if (outcome === 'success' && closed && closed.failures === 0 && closed.epoch === ticket.epoch) return;
      try {
        await update((rec) => ({ next: decideOutcome(rec, ticket, outcome, now(), deps.policy), result: undefined }), undefined);
      } catch (err) {
        deps.onError?.(err);
      }
    },
    async state() {
      return effectiveState(parseRecord(await deps.cell.read()), now());
    },
  };
}
