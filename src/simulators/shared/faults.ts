/**
 * Fault switches shared by the provider simulators, and the parser for `SIM_FAULTS`
 * (`drop=1,duplicate=0.2,latency=50`). Shares are probabilities in [0, 1]; `latency` is in ms.
 */

export interface SimFaults {
  /** Share of webhooks never sent. */
  drop: number;
  /** Share of webhooks sent twice (same bytes, same event id). */
  duplicate: number;
  /** Share of webhooks held back so that later events can overtake them. */
  reorder: number;
  /** Share of API calls answered 500/503. */
  error: number;
  /** Share of API calls answered 429 with `Retry-After: 1`. */
  ratelimit: number;
  /** Milliseconds added to every API call. */
  latency: number;
  /** Share of API calls that never get an answer (nothing is committed). */
  timeout: number;
  /** Share of creates that are committed and then never answered. */
  commitThenTimeout: number;
}

export const FAULT_NAMES = [
  'drop',
  'duplicate',
  'reorder',
  'error',
  'ratelimit',
  'latency',
  'timeout',
  'commitThenTimeout',
] as const satisfies readonly (keyof SimFaults)[];

export const NO_FAULTS: Readonly<SimFaults> = Object.freeze({
  drop: 0,
  duplicate: 0,
  reorder: 0,
  error: 0,
  ratelimit: 0,
  latency: 0,
  timeout: 0,
  commitThenTimeout: 0,
});

function isFaultName(s: string): s is keyof SimFaults {
  return (FAULT_NAMES as readonly string[]).includes(s);
}

/** Throws when a value is out of range; shared by the parser and `setFaults`. */
export function checkFault(name: keyof SimFaults, value: number): number {
  if (!Number.isFinite(value)) throw new Error(`fault "${name}": ${value} is not a finite number`);
  if (name === 'latency') {
    if (value < 0) throw new Error(`fault "latency": ${value} must be >= 0 (milliseconds)`);
  } else if (value < 0 || value > 1) {
    throw new Error(`fault "${name}": ${value} must be a share between 0 and 1`);
  }
  return value;
}

/** Merges a partial set of faults into `base`, validating every given value. */
export function mergeFaults(base: Readonly<SimFaults>, patch: Partial<SimFaults> = {}): SimFaults {
  const out: SimFaults = { ...base };
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (!isFaultName(name))
      {throw new Error(`unknown fault "${name}" (expected one of ${FAULT_NAMES.join(', ')})`);}
    out[name] = checkFault(name, value);
  }
  return out;
}

/**
 * Parses `SIM_FAULTS`, e.g. `"drop=1,duplicate=0.2,latency=50"`. Unlisted faults are 0; an empty
 * string means no faults. Throws an Error naming the offending part on bad input.
 */
export function parseSimFaults(spec: string): SimFaults {
  const out: SimFaults = { ...NO_FAULTS };
  const seen = new Set<string>();
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`SIM_FAULTS: "${part}" is not name=value`);
    const name = part.slice(0, eq).trim();
    const text = part.slice(eq + 1).trim();
    if (!isFaultName(name)) {
      throw new Error(
        `SIM_FAULTS: unknown fault "${name}" (expected one of ${FAULT_NAMES.join(', ')})`,
      );
    }
    if (seen.has(name)) throw new Error(`SIM_FAULTS: fault "${name}" given twice`);
    seen.add(name);
    const value = text === '' ? Number.NaN : Number(text);
    if (Number.isNaN(value)) throw new Error(`SIM_FAULTS: "${name}=${text}" is not a number`);
    try {
      out[name] = checkFault(name, value);
    } catch (err) {
      throw new Error(`SIM_FAULTS: ${(err as Error).message}`);
    }
  }
  return out;
}

/** True with probability `share`; never consumes randomness for a share of 0. */
export function roll(share: number, random: () => number): boolean {
  if (share <= 0) return false;
  if (share >= 1) return true;
  return random() < share;
}
