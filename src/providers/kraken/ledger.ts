/**
 * What we told Kraken, per API key: the IIBAN each `external_id` got, and a digest per updatable
 * top-level field of what Kraken holds for each user. The adapter reads it to
 *
 * - never `POST /b2b/users` again for an external_id whose create answer it already has (a create
 *   whose follow-up verification submission failed is retried without a duplicate), and
 * - `PATCH /b2b/users/{user}` exactly the fields that differ from what Kraken holds: Embed's GET
 *   returns no profile fields (PROVIDERS.md §1.4: only `user`, `user_type`, `status`, `created_at`,
 *   `external_id`), so the record of what we sent is the only way to know.
 *
 * Digests, never values: HMAC-SHA256 keyed with the API secret over IIBAN, field and value, so the
 * record holds no personal data and cannot be matched against guesses without the secret.
 * Several processes sharing an API key need the Redis ledger (`src/store/kraken-ledger.ts`); the
 * in-memory one serves tests and single-process tools.
 */
import { createHmac } from 'node:crypto';

/** Top-level Kraken field name → digest of the value Kraken holds. */
export type FieldDigests = Record<string, string>;

export interface KrakenLedger {
  /** The IIBAN an earlier create of this external_id was answered with, if any. */
  iibanFor(externalId: string): Promise<string | undefined>;
  /**
   * Links external_id → IIBAN and records what Kraken holds for the user: `fields` after our own
   * create; `undefined` when we adopted a user whose stored data we do not know.
   */
  linkUser(externalId: string, iiban: string, fields: FieldDigests | undefined): Promise<void>;
  /** Digests of what Kraken holds, or undefined when not known (adopted, or never recorded). */
  fieldsOf(iiban: string): Promise<FieldDigests | undefined>;
  /** Merges the digests of fields a PATCH changed. */
  recordPatch(iiban: string, fields: FieldDigests): Promise<void>;
}

/** Stable JSON: object keys sorted, so equal values always digest alike. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** One digest per top-level field of `payload` (a PATCH-shaped body). */
export function digestFields(
  secretB64: string,
  iiban: string,
  payload: Readonly<Record<string, unknown>>,
): FieldDigests {
  const key = Buffer.from(secretB64, 'base64');
  const out: FieldDigests = {};
  for (const [field, value] of Object.entries(payload)) {
    out[field] = createHmac('sha256', key)
      .update(`${iiban}\n${field}\n${canonical(value)}`)
      .digest('hex')
      .slice(0, 32);
  }
  return out;
}

/** Top-level fields whose digest differs from what Kraken holds (all of them when not known). */
export function changedFields(current: FieldDigests, held: FieldDigests | undefined): string[] {
  return Object.keys(current).filter((f) => held?.[f] !== current[f]);
}

/** One process only. */
export function createMemoryLedger(): KrakenLedger {
  const iibans = new Map<string, string>();
  const fields = new Map<string, FieldDigests>();
  return {
    iibanFor: (externalId) => Promise.resolve(iibans.get(externalId)),
    linkUser(externalId, iiban, f) {
      iibans.set(externalId, iiban);
      if (f) fields.set(iiban, { ...f });
      else fields.delete(iiban);
      return Promise.resolve();
    },
    fieldsOf: (iiban) => {
      const f = fields.get(iiban);
      return Promise.resolve(f ? { ...f } : undefined);
    },
    recordPatch(iiban, f) {
      fields.set(iiban, { ...fields.get(iiban), ...f });
      return Promise.resolve();
    },
  };
}
