/**
 * Kira webhooks: `x-signature-sha256` = lowercase hex HMAC-SHA256 of the raw body bytes with the
 * secret string as key (no timestamp, so no replay window: dedupe on `data.event_id`), and the
 * `{event, data: {event_id, ...}}` envelope normalised into a ProviderEvent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ReasonMapper } from '../../kyc/reasons.js';
import type { ProviderEvent, Reason } from '../../kyc/types.js';
import type { ParsedWebhook, RawWebhook, WebhookVerdict } from '../provider-adapter.js';
import { findKiraFieldInText, isCanonicalPath, kiraFieldToCanonical } from './fields.js';
import { mapKiraStatus } from './status.js';

/** The documented header first; `x-kira-signature` is what the older readme's sample reads. */
const SIGNATURE_HEADERS = ['x-signature-sha256', 'x-kira-signature'];
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

function header(raw: RawWebhook, name: string): string | undefined {
  for (const [k, v] of Object.entries(raw.headers)) {
    if (k.toLowerCase() !== name) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/** Pure and constant-time per secret; every secret is tried (rotation: newest first). */
export function verifyKiraSignature(raw: RawWebhook, secrets: readonly string[]): WebhookVerdict {
  const signature = SIGNATURE_HEADERS.map((h) => header(raw, h)).find((v) => v !== undefined);
  if (signature === undefined) return { ok: false, reason: 'missing_signature' };
  if (!HEX_SHA256.test(signature)) return { ok: false, reason: 'bad_signature' };
  const given = Buffer.from(signature, 'hex');
  let matched = false;
  // An empty secret is a misconfiguration, never a key anyone could be expected to sign with.
  for (const secret of secrets.filter((x) => x.length > 0)) {
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(raw.body).digest();
    // Both are 32 bytes here (the hex was checked), so timingSafeEqual cannot throw.
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

const Envelope = z.looseObject({
  event: z.string().min(1),
  data: z.looseObject({
    event_id: z.string().min(1),
    user_id: z.string().min(1).optional(),
  }),
});
type EnvelopeData = z.infer<typeof Envelope>['data'];

const StatusChangedData = z.looseObject({ new_status: z.string().min(1) });

const USER_EVENTS = new Set([
  'user.verification.accepted',
  'user.verification.failed',
  'user.status_changed',
]);

/** A Kira reason text → Reason, with Kira field names aliased to applicant paths. */
export function mapKiraReason(reasons: ReasonMapper, text: string): Reason {
  const r = reasons.map(text, kiraFieldToCanonical);
  if (r.code !== 'missing_data' || (r.field !== undefined && isCanonicalPath(r.field))) return r;
  // The mapper could not name a known field: look for a Kira field name anywhere in the text.
  const field = findKiraFieldInText(text);
  return field ? { ...r, field } : r;
}

function reasonText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const t = o.message ?? o.reason ?? o.description;
    return typeof t === 'string' ? t : undefined;
  }
  return undefined;
}

export function parseKiraWebhook(body: unknown, reasons: ReasonMapper): ParsedWebhook {
  const env = Envelope.safeParse(body);
  if (!env.success) {
    return withEventId(body, {
      kind: 'unusable',
      problem: 'not a Kira event envelope {event, data.event_id}',
    });
  }
  const { event: type, data } = env.data;
  if (!USER_EVENTS.has(type)) return { kind: 'ignored', eventId: data.event_id, type };
  if (!data.user_id) {
    return { kind: 'unusable', eventId: data.event_id, problem: `${type} without data.user_id` };
  }
  const base = {
    provider: 'kira',
    providerEventId: data.event_id,
    type,
    userRef: data.user_id,
    source: 'webhook',
  } as const;
  const event = toEvent(type, data, base, reasons);
  return typeof event === 'string'
    ? { kind: 'unusable', eventId: data.event_id, problem: event }
    : { kind: 'event', event };
}

type Base = Pick<ProviderEvent, 'provider' | 'providerEventId' | 'type' | 'userRef' | 'source'>;

/** The event, or a problem string when the payload is unusable. */
function toEvent(
  type: string,
  data: EnvelopeData,
  base: Base,
  reasons: ReasonMapper,
): ProviderEvent | string {
  if (type === 'user.verification.accepted') {
    return {
      ...base,
      providerStatus: 'VERIFIED',
      outcome: 'verified',
      terminal: true,
      reasons: [],
    };
  }
  if (type === 'user.verification.failed') {
    // Malformed or absent reasons still reject: the state machine records "no reasons delivered".
    const list: unknown = data.reasons;
    const texts = Array.isArray(list) ? list.flatMap((r) => reasonText(r) ?? []) : [];
    const mapped = texts.map((t) => mapKiraReason(reasons, t));
    return {
      ...base,
      providerStatus: 'REJECTED',
      outcome: 'rejected',
      terminal: true,
      reasons: mapped,
    };
  }
  const parsed = StatusChangedData.safeParse(data);
  if (!parsed.success) return `${type} without data.new_status`;
  const s = mapKiraStatus(parsed.data.new_status);
  // A REJECTED status alone decides nothing: the reasons arrive with user.verification.failed.
  const informational = s.outcome === 'rejected' ? { informational: true } : {};
  return {
    ...base,
    providerStatus: s.providerStatus,
    outcome: s.outcome,
    terminal: s.terminal,
    ...informational,
    reasons: [],
  };
}

function withEventId(body: unknown, verdict: { kind: 'unusable'; problem: string }): ParsedWebhook {
  const data =
    body !== null && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  const id =
    data !== null && typeof data === 'object'
      ? (data as { event_id?: unknown }).event_id
      : undefined;
  return typeof id === 'string' && id.length > 0 ? { ...verdict, eventId: id } : verdict;
}
