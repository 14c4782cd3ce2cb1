/**
 * Kraken webhooks (PROVIDERS.md §1.8): `X-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...]` where each
 * v1 is hex HMAC-SHA256("{t}.{raw body}") keyed with the **base64-decoded** secret. Every v1 and
 * every configured secret (rotation, newest first) is tried; `t` more than 300 s from `now` in
 * either direction is refused. The `{event_type, iiban, id, timestamp}` envelope is normalised
 * into a ProviderEvent keyed by `id`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ReasonMapper } from '../../kyc/reasons.js';
import type { ProviderEvent, Reason } from '../../kyc/types.js';
import type { ParsedWebhook, RawWebhook, WebhookVerdict } from '../provider-adapter.js';
import { findKrakenFieldInText, isKrakenCanonicalPath, krakenFieldToCanonical } from './fields.js';
import { KRAKEN_USER_EVENTS } from './status.js';

/** The tolerance Kraken does not state ([INF], the usual 5 minutes). */
export const WEBHOOK_TOLERANCE_S = 300;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

function header(raw: RawWebhook, name: string): string | undefined {
  for (const [k, v] of Object.entries(raw.headers)) {
    if (k.toLowerCase() !== name) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** `t=1734567890,v1=ab…,v1=cd…` → its parts; unknown keys (future `v2`) are skipped. */
export function parseSignatureHeader(value: string): { t?: string; v1: string[] } {
  const out: { t?: string; v1: string[] } = { v1: [] };
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't') out.t = val;
    else if (key === 'v1') out.v1.push(val);
  }
  return out;
}

/** Pure; constant-time per comparison. `secrets` are base64, as Kraken returns them. */
export function verifyKrakenSignature(
  raw: RawWebhook,
  secrets: readonly string[],
  now: Date,
  toleranceS = WEBHOOK_TOLERANCE_S,
): WebhookVerdict {
  const value = header(raw, 'x-signature');
  if (value === undefined) return { ok: false, reason: 'missing_signature' };
  const { t, v1 } = parseSignatureHeader(value);
  const given = v1.filter((s) => HEX_SHA256.test(s)).map((s) => Buffer.from(s, 'hex'));
  if (t === undefined || !/^\d{1,12}$/.test(t) || given.length === 0) {
    return { ok: false, reason: 'bad_signature' };
  }
  const payload = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), raw.body]);
  let matched = false;
  for (const secret of secrets) {
    const key = Buffer.from(secret, 'base64');
    // An empty key is a misconfiguration, never a key anyone could be expected to sign with.
    if (key.length === 0) continue;
    const expected = createHmac('sha256', key).update(payload).digest();
    for (const g of given) if (timingSafeEqual(expected, g)) matched = true;
  }
  if (!matched) return { ok: false, reason: 'bad_signature' };
  const skewS = Math.abs(now.getTime() / 1000 - Number(t));
  return skewS > toleranceS ? { ok: false, reason: 'stale' } : { ok: true };
}

const Envelope = z.looseObject({
  event_type: z.string().min(1),
  id: z.string().min(1).optional(),
  iiban: z.string().min(1).optional(),
  timestamp: z.string().optional(),
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * `2025-01-15T10:30:00.123456789Z` (or with an offset) → `2025-01-15T10:30:00.123Z`, the form the
 * core compares as strings to drop events older than the last applied one. Undefined if unparsable.
 */
export function normaliseTimestamp(ts: string | undefined): string | undefined {
  if (ts === undefined || !RFC3339.test(ts)) return undefined;
  const ms = Date.parse(ts.replace(' ', 'T').toUpperCase());
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** A Kraken reason code or text → Reason, with Kraken field names aliased to applicant paths. */
export function mapKrakenReason(reasons: ReasonMapper, text: string): Reason {
  const r = reasons.map(text, krakenFieldToCanonical);
  if (r.code !== 'missing_data' || (r.field !== undefined && isKrakenCanonicalPath(r.field))) {
    return r;
  }
  const field = findKrakenFieldInText(text);
  return field ? { ...r, field } : r;
}

export function parseKrakenWebhook(body: unknown, reasons: ReasonMapper): ParsedWebhook {
  const env = Envelope.safeParse(body);
  if (!env.success) {
    return {
      kind: 'unusable',
      problem: 'not a Kraken event envelope {event_type, id, iiban, timestamp}',
    };
  }
  const { event_type: type, id, iiban } = env.data;
  // own keys only: an event_type such as `constructor` or `__proto__` names nothing we act on
  const mapping = Object.hasOwn(KRAKEN_USER_EVENTS, type) ? KRAKEN_USER_EVENTS[type] : undefined;
  // webhook.test, quote.*, deposit.*, …: acknowledged and counted, never acted on.
  if (!mapping) return { kind: 'ignored', ...(id ? { eventId: id } : {}), type };
  if (!id) return { kind: 'unusable', problem: `${type} without id` };
  if (!iiban) return { kind: 'unusable', eventId: id, problem: `${type} without iiban` };
  const occurredAt = normaliseTimestamp(env.data.timestamp);
  const event: ProviderEvent = {
    provider: 'kraken',
    providerEventId: id,
    type,
    userRef: iiban,
    source: 'webhook',
    ...(occurredAt ? { occurredAt } : {}),
    providerStatus: mapping.providerStatus,
    outcome: mapping.outcome,
    terminal: mapping.terminal,
    // user.disabled / user.closed: decided by the poll they trigger, on the reasons of the GET.
    ...(mapping.pollForDetails ? { informational: true, pollForDetails: true } : {}),
    reasons: mapping.reasonTexts.map((t) => mapKrakenReason(reasons, t)),
  };
  return { kind: 'event', event };
}
