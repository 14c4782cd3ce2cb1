/**
 * The one place that decides a waiting case's next poll (src/store/poll-schedule.ts): the
 * age-based schedule, capped by a known provider deadline minus the escalation margin.
 */
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { deadlineDue, nextPollAt, pollDelay } from '../../src/store/poll-schedule.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const plan = { schedule: [MIN, 5 * MIN, 15 * MIN, HOUR, DAY], deadlineMarginMs: DAY };

describe('pollDelay', () => {
  it('grows with the age of the case in its current status, then stays at the last step', () => {
    const clock = fixedClock('2026-03-01T00:00:00.000Z');
    const statusSince = clock.now().toISOString();
    const createdAt = '2026-01-01T00:00:00.000Z';
    expect(pollDelay({ statusSince, createdAt }, clock.now(), plan.schedule)).toBe(MIN);
    clock.advance(2 * MIN);
    expect(pollDelay({ statusSince, createdAt }, clock.now(), plan.schedule)).toBe(5 * MIN);
    clock.advance(10 * MIN);
    expect(pollDelay({ statusSince, createdAt }, clock.now(), plan.schedule)).toBe(15 * MIN);
    clock.advance(2 * HOUR);
    expect(pollDelay({ statusSince, createdAt }, clock.now(), plan.schedule)).toBe(DAY);
    // without statusSince (a case stored before it existed) the age counts from creation
    expect(pollDelay({ createdAt }, clock.now(), plan.schedule)).toBe(DAY);
  });
});

describe('nextPollAt', () => {
  const clock = fixedClock('2026-03-01T00:00:00.000Z');
  // A case waiting for two days: its plain next poll is a day away.
  const aged = (deadline?: string) => ({
    createdAt: new Date(clock.now().getTime() - 2 * DAY).toISOString(),
    ...(deadline ? { deadline } : {}),
  });
  const now = () => clock.now().getTime();
  const at = (ms: number) => new Date(now() + ms).toISOString();

  it('without a deadline: the age-based delay', () => {
    expect(nextPollAt(aged(), clock.now(), plan)).toBe(now() + DAY);
  });

  it('a deadline 24 h + ε away pulls the daily poll forward to deadline − margin (ε from now)', () => {
    const eps = 5 * MIN;
    const next = nextPollAt(aged(at(DAY + eps)), clock.now(), plan);
    expect(next).toBe(now() + eps);
    // At that time the deadline escalation is due: 24 h left, not ε.
    expect(deadlineDue(at(DAY + eps), new Date(next), DAY)).toBe(true);
  });

  it('never later than deadline − margin, never earlier than the schedule asks when that is sooner', () => {
    for (const ahead of [DAY + 1, DAY + HOUR, 1.5 * DAY, 2 * DAY - 1, 2 * DAY, 10 * DAY]) {
      const deadline = at(ahead);
      const next = nextPollAt(aged(deadline), clock.now(), plan);
      expect(next).toBeLessThanOrEqual(Date.parse(deadline) - DAY);
      expect(next).toBe(Math.min(now() + DAY, Date.parse(deadline) - DAY));
    }
  });

  it('once deadline − margin has passed (the case was escalated), the plain schedule again: no poll at every tick', () => {
    expect(nextPollAt(aged(at(DAY - HOUR)), clock.now(), plan)).toBe(now() + DAY);
    expect(nextPollAt(aged(at(DAY)), clock.now(), plan)).toBe(now() + DAY);
    expect(nextPollAt(aged('not a date'), clock.now(), plan)).toBe(now() + DAY);
  });
});

describe('deadlineDue', () => {
  it('is true at and after deadline − margin, false a millisecond before', () => {
    const deadline = '2026-03-02T12:00:00.000Z';
    expect(deadlineDue(deadline, new Date('2026-03-01T11:59:59.999Z'), DAY)).toBe(false);
    expect(deadlineDue(deadline, new Date('2026-03-01T12:00:00.000Z'), DAY)).toBe(true);
    expect(deadlineDue(deadline, new Date('2026-03-03T00:00:00.000Z'), DAY)).toBe(true);
    expect(deadlineDue(undefined, new Date(), DAY)).toBe(false);
  });
});
