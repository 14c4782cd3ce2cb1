/**
 * fast-check arbitraries for the HTTP fuzzing test. A generated value is a plain description
 * (shrinkable, printable); `toRequest` turns it into bytes at send time, computing signatures
 * over the final body and the current time.
 *
 * "Almost valid" is never valid: wrong secrets are filtered against the real ones, a flipped hex
 * digit always changes its value, a stale Kraken `t` is at least 301 s in the past or 400 s in
 * the future (so the time a test takes cannot bring it back inside the 300 s tolerance), and a
 * wrong bearer token is filtered against what the server would accept.
 */
import { METHODS } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { signKrakenWebhook } from '../../src/providers/kraken/index.js';
import type { RawRequest } from './tools.js';
import { signKira } from './tools.js';

export interface FuzzTargets {
  token: string;
  kiraSecrets: readonly string[];
  krakenSecrets: readonly string[];
  kiraUsers: readonly string[];
  krakenUsers: readonly string[];
  caseIds: readonly string[];
}

const EDGE = ['', ' ', '%', '%00', '%E0%A4%A', '..', '../', '%2e%2e%2f', 'null', 'undefined', 'true', '[]', '{}', '0', '-1', '1e309', 'NaN',
  '__proto__', 'constructor', 'prototype', "' OR 1=1 --", '<script>alert(1)</script>', '${7*7}', '\\', '"', 'é', '\u00ff\u00fe', '*', '{kyc}', 'a'.repeat(3000)];
const junk = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...EDGE));
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const latin1 = fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c));
/** What Node lets a client put in a header value (tab, printable ASCII, latin1). */
const headerValue = fc.oneof(
  { arbitrary: fc.string({ unit: fc.oneof({ arbitrary: printable, weight: 9 }, { arbitrary: latin1, weight: 1 }), maxLength: 120 }), weight: 9 },
  { arbitrary: fc.constantFrom('a'.repeat(4000), '\t', ' , , ', '=', 'Bearer', 'null'), weight: 1 },
);
const hexDigits = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 64, maxLength: 64 });

const KIRA_EVENTS = ['user.verification.accepted', 'user.verification.failed', 'user.status_changed', 'user.created', 'virtual_account.deposit_funds_received'];
const KRAKEN_EVENTS = ['user.verified', 'user.disabled', 'user.closed', 'webhook.test', 'quote.executed'];
/** Names every plain object has: a lookup table indexed by provider input must not find them. */
const PROTO = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
const REASONS = ['Sanctions screening match', 'Suspected document fraud', 'Missing required field: source_of_funds', 'Verification session expired'];

// ---- bodies ---------------------------------------------------------------------------------

function kiraEnvelope(users: fc.Arbitrary<string>) {
  const data = fc.record({
    event_id: fc.oneof(fc.uuid(), junk), user_id: fc.oneof(users, junk), reasons: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...REASONS), fc.jsonValue()), { maxLength: 4 }), fc.jsonValue()),
    new_status: fc.oneof(fc.constantFrom('VERIFIED', 'REJECTED', 'REVIEW', 'verified', ...PROTO), junk), status: junk,
  }, { requiredKeys: [] });
  return fc.record({ event: fc.oneof(fc.constantFrom(...KIRA_EVENTS), fc.constantFrom(...PROTO), junk), data: fc.oneof({ arbitrary: data, weight: 5 }, fc.jsonValue()) }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
}

function krakenEnvelope(users: fc.Arbitrary<string>) {
  return fc.record({
    event_type: fc.oneof(fc.constantFrom(...KRAKEN_EVENTS), fc.constantFrom(...PROTO), junk), iiban: fc.oneof(users, junk), id: fc.oneof(fc.uuid(), junk),
    timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), junk), extra: fc.jsonValue(),
  }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
}

/** Request bodies: none, bytes, JSON, broken JSON, envelopes naming `users`, deep nesting, over the limits. */
export function bodies(kiraUsers: fc.Arbitrary<string>, krakenUsers: fc.Arbitrary<string>): fc.Arbitrary<string | Uint8Array | undefined> {
  const json = fc.json({ maxDepth: 4 });
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 2 },
    { arbitrary: json, weight: 3 },
    { arbitrary: fc.tuple(json, fc.nat()).map(([j, n]) => j.slice(0, n % (j.length + 1))), weight: 2 },
    { arbitrary: junk, weight: 2 },
    { arbitrary: kiraEnvelope(kiraUsers), weight: 4 },
    { arbitrary: krakenEnvelope(krakenUsers), weight: 4 },
    { arbitrary: fc.integer({ min: 50, max: 5_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)), weight: 1 },
    { arbitrary: fc.integer({ min: 50, max: 5_000 }).map((d) => '{"a":'.repeat(d)), weight: 1 },
    // Just under, at and over the API's 64 KB and the webhooks' 256 KB.
    { arbitrary: fc.constantFrom(64 * 1024 - 20, 64 * 1024 + 1, 256 * 1024 - 20, 256 * 1024 + 1, 300 * 1024).map((n) => `{"pad":"${'a'.repeat(n)}"}`), weight: 1 },
  );
}

// ---- framing: content type, encoding, extra headers -----------------------------------------

const contentType = fc.oneof(
  fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json; charset=latin1',
    'application/json; charset=utf-16', 'application/json;;', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
    'application/problem+json', 'application/octet-stream', '*/*', '', ';', '/', 'json', 'application/json, text/plain'),
  headerValue,
);
const encoding = fc.constantFrom('none', 'none', 'none', 'none', 'gzip', 'deflate', 'br', 'identity', 'garbage-gzip', 'x-unknown', 'gzip, br');
const extraHeaders = fc.dictionary(
  fc.oneof(fc.stringMatching(/^x-[a-z0-9-]{1,16}$/), fc.constantFrom('accept', 'accept-encoding', 'x-request-id', 'user-agent', 'origin', 'cookie', 'x-forwarded-for', 'if-none-match', 'range')),
  headerValue, { maxKeys: 3 },
);

export interface Framing { contentType: string | undefined; encoding: string; extra: Record<string, string>; chunked: boolean }
export const framing: fc.Arbitrary<Framing> = fc.record({ contentType, encoding, extra: extraHeaders, chunked: fc.boolean() });

function encode(body: Buffer, enc: string): { body: Buffer; header?: string } {
  switch (enc) {
    case 'none': return { body };
    case 'gzip': return { body: gzipSync(body), header: 'gzip' };
    case 'deflate': return { body: deflateSync(body), header: 'deflate' };
    case 'br': return { body: brotliCompressSync(body), header: 'br' };
    case 'garbage-gzip': return { body, header: 'gzip' };
    default: return { body, header: enc };
  }
}

// ---- signatures ------------------------------------------------------------------------------

/** A Kira-style or Kraken-style signature header that no provider accepts. */
export type BadSignature =
  | { kind: 'none' }
  | { kind: 'raw'; header: string; value: string }
  | { kind: 'kira'; header: string; how: 'wrong-secret' | 'flip' | 'other-body' | 'prefixed' | 'truncated' | 'twice'; secret: string; n: number }
  | { kind: 'kraken'; how: 'wrong-secret' | 'undecoded' | 'flip' | 'mismatch' | 'stale' | 'no-t' | 'no-v1' | 'bad-t' | 'v2' | 'semicolon' | 'upper' | 'garbage-v1'; secret: string; n: number; junk: string };

export function badSignatures(t: FuzzTargets): fc.Arbitrary<BadSignature> {
  const kiraHeader = fc.constantFrom('x-signature-sha256', 'x-kira-signature', 'x-signature', 'signature');
  const wrongKira = fc.string({ minLength: 5, maxLength: 40 }).filter((s) => !t.kiraSecrets.includes(s));
  const wrongKraken = fc.uint8Array({ minLength: 8, maxLength: 40 }).map((b) => Buffer.from(b).toString('base64')).filter((s) => !t.krakenSecrets.some((k) => Buffer.from(k, 'base64').equals(Buffer.from(s, 'base64'))));
  return fc.oneof(
    fc.constant<BadSignature>({ kind: 'none' }),
    fc.record({ kind: fc.constant('raw' as const), header: fc.oneof(kiraHeader, fc.constant('x-signature')), value: fc.oneof(headerValue, hexDigits, hexDigits.map((h) => `t=1,v1=${h}`)) }),
    fc.record({
      kind: fc.constant('kira' as const), header: kiraHeader, how: fc.constantFrom('wrong-secret', 'flip', 'other-body', 'prefixed', 'truncated', 'twice'),
      secret: fc.oneof(wrongKira, fc.constantFrom(...t.kiraSecrets)), n: fc.nat(),
    }).filter((s) => s.how !== 'wrong-secret' || !t.kiraSecrets.includes(s.secret)),
    fc.record({
      kind: fc.constant('kraken' as const),
      how: fc.constantFrom('wrong-secret', 'undecoded', 'flip', 'mismatch', 'stale', 'no-t', 'no-v1', 'bad-t', 'v2', 'semicolon', 'upper', 'garbage-v1'),
      secret: fc.oneof(wrongKraken, fc.constantFrom(...t.krakenSecrets)), n: fc.nat({ max: 10_000_000 }), junk: fc.string({ maxLength: 20 }).filter((s) => !/^\d{1,12}$/.test(s.trim())),
    }).filter((s) => s.how !== 'wrong-secret' || !t.krakenSecrets.includes(s.secret)),
  );
}

function flip(hex: string, n: number): string {
  const i = n % hex.length;
  const v = (parseInt(hex[i]!, 16) + 1 + (n % 15)) % 16;
  return hex.slice(0, i) + v.toString(16) + hex.slice(i + 1);
}

function badSignatureHeaders(s: BadSignature, body: Buffer, t: FuzzTargets): Record<string, string | string[]> {
  const now = Math.floor(Date.now() / 1000);
  switch (s.kind) {
    case 'none': return {};
    case 'raw': return { [s.header]: s.value };
    case 'kira': {
      const good = signKira(body, t.kiraSecrets[s.n % t.kiraSecrets.length]!);
      const value = {
        'wrong-secret': () => signKira(body, s.secret), flip: () => flip(good, s.n), 'other-body': () => signKira(Buffer.concat([body, Buffer.from(' ')]), s.secret),
        prefixed: () => `sha256=${good}`, truncated: () => good.slice(0, s.n % 64), twice: () => [flip(good, s.n), good],
      }[s.how]();
      return { [s.header]: value };
    }
    case 'kraken': {
      const good = (at: number | string) => signKrakenWebhook(s.secret, at, body);
      const stale = s.n % 2 === 0 ? now - 301 - s.n : now + 400 + s.n;
      const value = {
        'wrong-secret': () => `t=${now},v1=${good(now)}`,
        undecoded: () => `t=${now},v1=${signKira(Buffer.concat([Buffer.from(`${now}.`), body]), s.secret)}`,
        flip: () => `t=${now},v1=${flip(good(now), s.n)}`,
        mismatch: () => `t=${now + 1 + (s.n % 1000)},v1=${good(now)}`,
        stale: () => `t=${stale},v1=${good(stale)}`,
        'no-t': () => `v1=${good(now)}`,
        'no-v1': () => `t=${now}`,
        'bad-t': () => `t=${s.junk},v1=${good(s.junk)}`,
        v2: () => `t=${now},v2=${good(now)}`,
        semicolon: () => `t=${now};v1=${good(now)}`,
        upper: () => `T=${now},V1=${good(now)}`,
        'garbage-v1': () => `t=${now},v1=${s.junk},v1=${flip(good(now), s.n)}`,
      }[s.how]();
      return { 'x-signature': value };
    }
  }
}

// ---- requests --------------------------------------------------------------------------------

export interface WebhookSpec { target: 'webhook'; provider: string; suffix: string; body: string | Uint8Array | undefined; framing: Framing; signature: BadSignature | { kind: 'valid'; secret: number; header: number; extraV1: string[] } }
export interface ApiSpec { target: 'api'; method: string; path: string; body: string | Uint8Array | undefined; framing: Framing; auth: string | undefined }
export type Spec = WebhookSpec | ApiSpec;

const ODD_METHODS = METHODS.filter((m) => m !== 'CONNECT');
export const methods = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST', 'PATCH'), weight: 6 },
  { arbitrary: fc.constantFrom('PUT', 'DELETE', 'OPTIONS', 'HEAD'), weight: 2 },
  { arbitrary: fc.constantFrom(...ODD_METHODS), weight: 1 },
);

function segment() {
  return fc.oneof(junk.map((s) => encodeURIComponent(s)), fc.constantFrom('%', '%E0%A4%A', '%zz', '..', '.', '%2F', '%00', ';', 'a'.repeat(2000)), fc.webSegment());
}

/** Offsets as the API's opaque cursors encode them, small and far past 2^53, and near misses. */
const cursor = fc.oneof(
  fc.oneof(fc.bigInt({ min: -10n, max: 1000n }), fc.bigInt({ min: 2n ** 50n, max: 10n ** 40n })).map((n) => Buffer.from(`o:${n}`).toString('base64url')),
  fc.constantFrom('o:1', 'bzox', 'bzotMQ', 'bzoxLjU', 'bzo', '', '='),
  fc.string({ maxLength: 30 }).map((x) => Buffer.from(`o:${x}`).toString('base64url')),
);

/** Query strings aimed at `limit`, `cursor`, `status` and `provider` of GET /v1/cases. */
const query = fc.oneof(
  fc.webQueryParameters(),
  // Only valid keys, so that a bad value reaches the store instead of stopping at the schema.
  fc.record({ cursor, limit: fc.constantFrom('1', '50', '200'), status: fc.constantFrom('verified', 'escalated', 'awaiting_verification') }, { requiredKeys: ['cursor'] })
    .map((q) => Object.entries(q).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')),
  fc.record({
    limit: fc.oneof(fc.constantFrom('0', '-1', '1', '200', '201', '1e3', '0x10', 'NaN', 'Infinity', '1.5', '', ' 5', '9'.repeat(400)), junk),
    cursor: fc.oneof(junk, cursor),
    status: fc.oneof(fc.constantFrom('queued', 'verified', 'escalated', 'VERIFIED', 'verified,rejected'), junk),
    provider: fc.oneof(fc.constantFrom('kira', 'kraken', 'wealthyhood', 'KIRA'), junk),
    other: junk,
  }, { requiredKeys: [] }).map((q) => Object.entries(q).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')),
  fc.constantFrom('limit=1&limit=2', 'limit[]=1', 'limit[a]=1', 'status[$ne]=x', '&&&', '=', 'cursor', '%', '%zz=1'),
);

export function apiPaths(t: FuzzTargets): fc.Arbitrary<string> {
  const id = fc.oneof(fc.constantFrom(...t.caseIds), fc.uuid(), segment());
  return fc.tuple(
    fc.oneof(
      { arbitrary: fc.constant('/v1/onboardings'), weight: 3 },
      { arbitrary: fc.constant('/v1/cases'), weight: 3 },
      { arbitrary: id.map((i) => `/v1/cases/${i}`), weight: 3 },
      { arbitrary: id.map((i) => `/v1/cases/${i}/applicant`), weight: 3 },
      { arbitrary: id.map((i) => `/v1/cases/${i}/resolve`), weight: 3 },
      { arbitrary: fc.constantFrom('/v1', '/v1/', '/v1/cases/', '//v1/cases', '/v1//cases', '/V1/cases', '/v1/onboardings/x'), weight: 1 },
      { arbitrary: segment().map((s) => `/v1/${s}`), weight: 1 },
    ),
    fc.option(query, { freq: 3 }),
  ).map(([p, q]) => (q === null ? p : `${p}?${q}`));
}

/** Bearer values that must not authenticate (never the token, however padded or cased). */
export function badAuth(t: FuzzTargets): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('', 'Bearer', 'Bearer ', `Basic ${Buffer.from(`admin:${t.token}`).toString('base64')}`, `Token ${t.token}`, t.token, `Bearer${t.token}`,
      `Bearer ${t.token.toUpperCase()}`, `Bearer ${t.token.slice(0, -1)}`, `Bearer ${t.token}x`, `Bearer ${t.token} ${t.token}`, `Bearer "${t.token}"`, `Bearer ${t.token},`),
    headerValue.map((v) => `Bearer ${v}`),
    headerValue,
  ).filter((v) => v === undefined || /^Bearer\s+(\S+)$/i.exec(v.trim())?.[1] !== t.token);
}

/** The bytes and headers of a spec, signatures computed now over the final body. */
export function toRequest(spec: Spec, t: FuzzTargets): RawRequest {
  const plain = spec.body === undefined ? undefined : Buffer.from(spec.body);
  const enc: { body?: Buffer; header?: string } = plain ? encode(plain, spec.framing.encoding) : {};
  const headers: Record<string, string | string[]> = { ...spec.framing.extra };
  if (spec.framing.contentType !== undefined) headers['content-type'] = spec.framing.contentType;
  if (enc.header) headers['content-encoding'] = enc.header;
  if (spec.target === 'api') {
    if (spec.auth !== undefined) headers.authorization = spec.auth;
    return { method: spec.method, path: spec.path, headers, body: enc.body, chunked: spec.framing.chunked };
  }
  // Signatures are over the bytes the server verifies: the decoded body.
  const signed = plain ?? Buffer.alloc(0);
  const sig = spec.signature;
  if (sig.kind === 'valid') {
    if (spec.provider === 'kraken') {
      const now = Math.floor(Date.now() / 1000);
      const secret = t.krakenSecrets[sig.secret % t.krakenSecrets.length]!;
      headers['x-signature'] = [`t=${now}`, ...sig.extraV1.map((h) => `v1=${h}`), `v1=${signKrakenWebhook(secret, now, signed)}`].join(',');
    } else {
      headers[['x-signature-sha256', 'x-kira-signature'][sig.header % 2]!] = signKira(signed, t.kiraSecrets[sig.secret % t.kiraSecrets.length]!);
    }
  } else {
    Object.assign(headers, badSignatureHeaders(sig, signed, t));
  }
  return { method: 'POST', path: `/webhooks/${spec.provider}${spec.suffix}`, headers, body: enc.body, chunked: spec.framing.chunked };
}

/** Provider path segments: the three real ones, case and encoding variants, unknown ones. */
export const providers = fc.oneof(
  { arbitrary: fc.constantFrom('kira', 'kraken', 'wealthyhood'), weight: 6 },
  { arbitrary: fc.constantFrom('KIRA', 'Kraken', 'kira%20', '%6Bira', 'kira.', 'kira;', 'nope', '', '..', '%'), weight: 1 },
  { arbitrary: segment(), weight: 1 },
);
export const suffixes = fc.constantFrom('', '', '', '', '/', '?x=1', '/extra', '?provider=kira');
