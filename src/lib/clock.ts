export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still at `iso` until moved with `set` / `advance` (tests). */
export function fixedClock(iso: string): Clock & { set(iso: string): void; advance(ms: number): void } {
  let t = Date.parse(iso);
  return {
    now: () => new Date(t),
    set: (v) => { t = Date.parse(v); },
    advance: (ms) => { t += ms; },
  };
}

/** A clock offset from system time (tests that need "in 23 hours" while timers stay real). */
export function offsetClock(getOffsetMs: () => number): Clock {
  return { now: () => new Date(Date.now() + getOffsetMs()) };
}
