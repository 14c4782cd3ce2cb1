import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import {
  coolDown, createCircuitBreaker, decideAdmission, decideOutcome, effectiveState, parseRecord,
  type CircuitCell, type CircuitPolicy, type CircuitRecord, type CircuitState, type Ticket,
} from '../../src/lib/circuit.js';
import { CircuitOpenError, circuitOutcome, withCircuitBreaker } from '../../src/providers/circuit-guard.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../src/providers/errors.js';
import type { ProviderAdapter } from '../../src/providers/provider-adapter.js';

const POLICY: CircuitPolicy = { failureThreshold: 3, openForMs: 10_000, maxOpenForMs: 35_000, probeLeaseMs: 4_000, probeWaitMs: 500 };
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** An in-memory cell with the same compare-and-swap contract as the Redis one. */
function memoryCell(): CircuitCell & { value: string | null; swaps: number } {
  const cell = {
    value: null as string | null,
    swaps: 0,
    read: () => Promise.resolve(cell.value),
    swap(expected: string | null, next: string) {
      cell.swaps += 1;
      if (cell.value !== expected) return Promise.resolve({ ok: false as const, current: cell.value });
      cell.value = next;
      return Promise.resolve({ ok: true as const });
    },
  };
  return cell;
}

function breaker(cell = memoryCell(), policy = POLICY) {
  const clock = fixedClock('2026-01-01T00:00:00Z');
  const transitions: CircuitState[] = [];
  const rejected: number[] = [];
  const b = createCircuitBreaker({ cell, policy, clock, onTransition: (to) => transitions.push(to), onReject: (ms) => rejected.push(ms) });
  return { b, cell, clock, transitions, rejected };
}

async function admitted(b: ReturnType<typeof breaker>['b']): Promise<Ticket> {
  const a = await b.admit();
  if (!a.ok) throw new Error(`refused for ${a.waitMs} ms`);
  return a.ticket;
}

describe('circuit decisions (pure)', () => {
  const closed: CircuitRecord = { state: 'closed', epoch: 0, failures: 0 };

  it('opens after the threshold of consecutive failures, and a success in between resets the count', () => {
    const t: Ticket = { epoch: 0, probe: false };
    let rec: CircuitRecord = closed;
    rec = decideOutcome(rec, t, 'failure', T0, POLICY)!;
    rec = decideOutcome(rec, t, 'failure', T0, POLICY)!;
    expect(rec).toEqual({ state: 'closed', epoch: 0, failures: 2 });
    rec = decideOutcome(rec, t, 'success', T0, POLICY)!;
    expect(rec).toEqual(closed);
    expect(decideOutcome(rec, t, 'success', T0, POLICY)).toBeUndefined(); // nothing to write on the hot path
    for (let i = 0; i < 2; i += 1) rec = decideOutcome(rec, t, 'failure', T0, POLICY)!;
    expect(rec.state).toBe('closed');
    rec = decideOutcome(rec, t, 'failure', T0, POLICY)!;
    expect(rec).toEqual({ state: 'open', epoch: 1, until: T0 + 10_000, trips: 1 });
  });

  it('ignores neutral outcomes (429, own aborts) in the closed state', () => {
    const rec: CircuitRecord = { state: 'closed', epoch: 0, failures: 2 };
    expect(decideOutcome(rec, { epoch: 0, probe: false }, 'neutral', T0, POLICY)).toBeUndefined();
  });

  it('refuses calls while open, for exactly the cool-down left', () => {
    const open: CircuitRecord = { state: 'open', epoch: 1, until: T0 + 10_000, trips: 1 };
    expect(decideAdmission(open, T0 + 2_500, POLICY)).toEqual({ admission: { ok: false, waitMs: 7_500 } });
    expect(effectiveState(open, T0 + 9_999)).toBe('open');
    expect(effectiveState(open, T0 + 10_000)).toBe('half_open');
  });

  it('lets exactly one probe through after the cool-down, and holds the others for at most probeWaitMs', () => {
    const open: CircuitRecord = { state: 'open', epoch: 1, until: T0 + 10_000, trips: 1 };
    const first = decideAdmission(open, T0 + 10_000, POLICY);
    expect(first.admission).toEqual({ ok: true, ticket: { epoch: 2, probe: true } });
    expect(first.next).toEqual({ state: 'half_open', epoch: 2, until: T0 + 14_000, trips: 1 });
    expect(decideAdmission(first.next!, T0 + 10_001, POLICY).admission).toEqual({ ok: false, waitMs: 500 });
    expect(decideAdmission(first.next!, T0 + 13_800, POLICY).admission).toEqual({ ok: false, waitMs: 200 });
  });

  it('closes on a successful probe and re-opens on a failed one with a doubled, capped cool-down', () => {
    const probing: CircuitRecord = { state: 'half_open', epoch: 2, until: T0 + 14_000, trips: 1 };
    const probe: Ticket = { epoch: 2, probe: true };
    expect(decideOutcome(probing, probe, 'success', T0 + 11_000, POLICY)).toEqual({ state: 'closed', epoch: 3, failures: 0 });
    expect(decideOutcome(probing, probe, 'failure', T0 + 11_000, POLICY)).toEqual({ state: 'open', epoch: 3, until: T0 + 11_000 + 20_000, trips: 2 });
    expect([1, 2, 3, 4, 10].map((n) => coolDown(n, POLICY))).toEqual([10_000, 20_000, 35_000, 35_000, 35_000]);
    // A cap below the base cool-down never shortens it.
    expect(coolDown(3, { ...POLICY, maxOpenForMs: 1 })).toBe(10_000);
  });

  it('releases the lease on a neutral probe so that the next call probes at once', () => {
    const probing: CircuitRecord = { state: 'half_open', epoch: 2, until: T0 + 14_000, trips: 1 };
    const released = decideOutcome(probing, { epoch: 2, probe: true }, 'neutral', T0 + 11_000, POLICY)!;
    expect(released).toEqual({ state: 'half_open', epoch: 3, until: T0 + 11_000, trips: 1 });
    expect(decideAdmission(released, T0 + 11_000, POLICY).admission).toEqual({ ok: true, ticket: { epoch: 4, probe: true } });
  });

  it('replaces a probe whose lease lapsed, and ignores the late outcome of the replaced one', () => {
    const probing: CircuitRecord = { state: 'half_open', epoch: 2, until: T0 + 14_000, trips: 1 };
    const takeover = decideAdmission(probing, T0 + 14_000, POLICY);
    expect(takeover.admission).toEqual({ ok: true, ticket: { epoch: 3, probe: true } });
    expect(decideOutcome(takeover.next!, { epoch: 2, probe: true }, 'success', T0 + 15_000, POLICY)).toBeUndefined();
  });

  it('ignores outcomes of calls admitted in an earlier epoch', () => {
    // A call admitted while closed (epoch 0) fails after the circuit opened, probed and closed again.
    const reclosed: CircuitRecord = { state: 'closed', epoch: 3, failures: 0 };
    expect(decideOutcome(reclosed, { epoch: 0, probe: false }, 'failure', T0, POLICY)).toBeUndefined();
    const open: CircuitRecord = { state: 'open', epoch: 1, until: T0 + 10_000, trips: 1 };
    expect(decideOutcome(open, { epoch: 0, probe: false }, 'success', T0, POLICY)).toBeUndefined();
    // A non-probe ticket never moves a half-open circuit.
    const probing: CircuitRecord = { state: 'half_open', epoch: 2, until: T0 + 14_000, trips: 1 };
    expect(decideOutcome(probing, { epoch: 2, probe: false }, 'success', T0, POLICY)).toBeUndefined();
  });

  it('reads absent or corrupt records as a fresh closed circuit', () => {
    expect(parseRecord(null)).toEqual({ state: 'closed', epoch: 0, failures: 0 });
    expect(parseRecord('not json')).toEqual({ state: 'closed', epoch: 0, failures: 0 });
    expect(parseRecord('{"state":"open","epoch":4}')).toEqual({ state: 'closed', epoch: 0, failures: 0 });
    const rec: CircuitRecord = { state: 'open', epoch: 4, until: T0, trips: 2 };
    expect(parseRecord(JSON.stringify(rec))).toEqual(rec);
  });
});

describe('createCircuitBreaker (injected clock, in-memory cell)', () => {
  it('runs closed → open → half-open → open (longer) → half-open → closed on the clock', async () => {
    const { b, clock, transitions, rejected } = breaker();
    for (let i = 0; i < 3; i += 1) await b.record(await admitted(b), 'failure');
    expect(await b.state()).toBe('open');
    expect(await b.admit()).toEqual({ ok: false, waitMs: 10_000 });
    clock.advance(10_000);
    expect(await b.state()).toBe('half_open');
    const probe = await admitted(b);
    expect(probe.probe).toBe(true);
    expect(await b.admit()).toEqual({ ok: false, waitMs: 500 });
    await b.record(probe, 'failure');
    expect(await b.admit()).toEqual({ ok: false, waitMs: 20_000 });
    clock.advance(20_000);
    const second = await admitted(b);
    await b.record(second, 'success');
    expect(await b.state()).toBe('closed');
    expect((await admitted(b)).probe).toBe(false);
    expect(transitions).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
    expect(rejected).toEqual([10_000, 500, 20_000]);
  });

  it('decides again on what a concurrent writer stored when its swap loses', async () => {
    const cell = memoryCell();
    const a = breaker(cell);
    const b = breaker(cell);
    const tickets = await Promise.all([a, b, a, b].map((x) => admitted(x.b)));
    // Four failures reported concurrently by two "processes": one opening, counted once.
    await Promise.all(tickets.map((t, i) => (i % 2 === 0 ? a : b).b.record(t, 'failure')));
    expect([...a.transitions, ...b.transitions]).toEqual(['open']);
    expect(parseRecord(cell.value)).toMatchObject({ state: 'open', epoch: 1 });
    expect(cell.swaps).toBeGreaterThan(3); // the reports did race (lost swaps were decided again)
  });

  it('never throws from record (a lost report only delays a transition)', async () => {
    const cell = memoryCell();
    const errors: unknown[] = [];
    const b = createCircuitBreaker({
      cell: { read: () => cell.read(), swap: () => Promise.reject(new Error('redis down')) },
      policy: POLICY, clock: fixedClock('2026-01-01T00:00:00Z'), onError: (e) => errors.push(e),
    });
    await expect(b.record({ epoch: 0, probe: false }, 'failure')).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});

describe('withCircuitBreaker', () => {
  function fakeAdapter(behaviour: () => Promise<void>): ProviderAdapter & { calls: number } {
    const a = {
      calls: 0,
      webhooks: true,
      id: 'kira' as const,
      rateLimit: { max: 20, durationMs: 1_000 },
      preflight: () => [],
      async createUser() {
        a.calls += 1;
        await behaviour();
        return { providerUserId: 'u1', adopted: false };
      },
      getUser: () => Promise.reject(new Error('unused')),
      remediate: () => Promise.reject(new Error('unused')),
      verifyWebhook: () => ({ ok: true as const }),
      parseWebhook: () => ({ kind: 'ignored' as const, type: 'x' }),
    };
    return a;
  }
  const ctx = () => ({ idempotencyKey: 'k', signal: new AbortController().signal });
  const applicant = { externalId: 'x' } as never;

  it('makes no call while open: it throws a CircuitOpenError, which is a RateLimitedError with the wait', async () => {
    const { b } = breaker();
    const inner = fakeAdapter(() => Promise.reject(new RetryableError('HTTP 503', 503)));
    const guarded = withCircuitBreaker(inner, b);
    for (let i = 0; i < 3; i += 1) await expect(guarded.createUser(applicant, ctx())).rejects.toBeInstanceOf(RetryableError);
    expect(inner.calls).toBe(3);
    const err = await guarded.createUser(applicant, ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as CircuitOpenError).retryAfterMs).toBe(10_000);
    expect(inner.calls).toBe(3);
    expect(guarded.id).toBe('kira');
    expect(guarded.rateLimit).toEqual({ max: 20, durationMs: 1_000 });
  });

  it('counts only retryable failures: 4xx and 429 never open the circuit', async () => {
    const { b } = breaker();
    let next: Error = new PermanentError('HTTP 422', 422);
    const guarded = withCircuitBreaker(fakeAdapter(() => Promise.reject(next)), b);
    for (let i = 0; i < 5; i += 1) await guarded.createUser(applicant, ctx()).catch(() => undefined);
    next = new RateLimitedError(1_000);
    for (let i = 0; i < 5; i += 1) await guarded.createUser(applicant, ctx()).catch(() => undefined);
    expect(await b.state()).toBe('closed');
  });

  it('classifies outcomes from the one error taxonomy', () => {
    expect(circuitOutcome(new RetryableError('timeout'))).toBe('failure');
    expect(circuitOutcome(new PermanentError('bad', 400))).toBe('success');
    expect(circuitOutcome(new RateLimitedError(1_000))).toBe('neutral');
    expect(circuitOutcome(new Error('bug'))).toBe('neutral');
    const aborted = new AbortController();
    aborted.abort();
    expect(circuitOutcome(new RetryableError('aborted'), aborted.signal)).toBe('neutral');
  });
});

describe('createCircuitBreaker with closedCacheMs (a process trusting a closed record it saw)', () => {
  const CACHED: CircuitPolicy = { ...POLICY, closedCacheMs: 1_000 };

  /** A cell that counts its reads. */
  function countingCell() {
    const cell = memoryCell();
    const counted = { ...cell, reads: 0, read: () => { counted.reads += 1; return cell.read(); }, swap: (e: string | null, n: string) => cell.swap(e, n) };
    return { counted, inner: cell };
  }

  it('admits and records successes on a healthy provider without reading the cell again within the window', async () => {
    const { counted } = countingCell();
    const { b, clock } = breaker(counted, CACHED);
    await b.record(await admitted(b), 'success');
    expect(counted.reads).toBe(1); // the first admission reads; its success on 0 failures needs no read
    for (let i = 0; i < 10; i += 1) await b.record(await admitted(b), 'success');
    expect(counted.reads).toBe(1);
    clock.advance(1_000);
    await admitted(b);
    expect(counted.reads).toBe(2); // the window lapsed: read again
  });

  it('always reads and stores a failure, so this process holds its calls back at once after its own opening', async () => {
    const { counted } = countingCell();
    const { b, transitions } = breaker(counted, CACHED);
    for (let i = 0; i < 3; i += 1) await b.record(await admitted(b), 'failure');
    expect(transitions).toEqual(['open']);
    expect(await b.admit()).toEqual({ ok: false, waitMs: 10_000 });
  });

  it('resets counted failures on a success (a trusted record with failures is not skipped)', async () => {
    const { counted, inner } = countingCell();
    const { b } = breaker(counted, CACHED);
    await b.record(await admitted(b), 'failure');
    await b.record(await admitted(b), 'success');
    expect(parseRecord(inner.value)).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('sees an opening by another process at once when its own call fails', async () => {
    const shared = memoryCell();
    const other = breaker(shared, CACHED);
    const mine = breaker(shared, CACHED);
    const stale = await admitted(mine.b); // this process saw the circuit closed
    for (let i = 0; i < 3; i += 1) await other.b.record(await admitted(other.b), 'failure');
    expect((await mine.b.admit()).ok).toBe(true); // within the window it still trusts what it saw
    await mine.b.record(stale, 'failure'); // its own failure reads the open record (and is ignored: older epoch)
    expect(await mine.b.admit()).toEqual({ ok: false, waitMs: 10_000 });
  });

  it('sees an opening by another process once the window lapses', async () => {
    const shared = memoryCell();
    const other = breaker(shared, CACHED);
    const mine = breaker(shared, CACHED);
    await admitted(mine.b);
    for (let i = 0; i < 3; i += 1) await other.b.record(await admitted(other.b), 'failure');
    mine.clock.advance(999);
    expect((await mine.b.admit()).ok).toBe(true);
    mine.clock.advance(1);
    expect((await mine.b.admit()).ok).toBe(false);
  });

  it('records a neutral outcome of an ordinary call without any read or write', async () => {
    const { counted, inner } = countingCell();
    const { b } = breaker(counted);
    await b.record(await admitted(b), 'failure');
    const t = await admitted(b);
    const [reads, swaps] = [counted.reads, inner.swaps];
    await b.record(t, 'neutral');
    expect([counted.reads, inner.swaps]).toEqual([reads, swaps]);
    expect(parseRecord(inner.value)).toMatchObject({ state: 'closed', failures: 1 });
  });
});
