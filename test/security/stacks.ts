/**
 * Stacks for the security tests: the shared Kira stack (test/helpers/stack.ts) plus Kraken and
 * Wealthyhood simulators, restartable on the same Redis prefix, and helpers that deliver signed
 * webhooks and wait for case states.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { signKrakenWebhook } from '../../src/providers/kraken/index.js';
import { startKrakenSimulator, type KrakenSimulator } from '../../src/simulators/kraken/index.js';
import { startWealthyhoodSimulator, type WealthyhoodSimulator } from '../../src/simulators/wealthyhood/index.js';
import { nonceKeys } from '../../src/store/nonce.js';
import { REDIS_URL } from '../helpers/redis.js';
import { applicant, SECRETS, startStack, type Stack, type StackOptions } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { signKira } from './tools.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** Kraken webhook secrets (base64, newest first), as KIRA's SECRETS in test/helpers/stack.ts. */
export const KRAKEN_SECRETS = [b64('kraken-security-hook-new'), b64('kraken-security-hook-old')];
const KRAKEN_API_SECRET = b64('kraken-security-api-secret-0001');

export interface Providers {
  kraken: KrakenSimulator;
  wealthyhood: WealthyhoodSimulator;
  /** The service's environment for these two (API key, secrets). */
  env: Record<string, string>;
  urls: { kraken: string; wealthyhood: string };
  close(): Promise<void>;
}

/** Kraken (deciding nothing by itself) and Wealthyhood simulators, with a unique Kraken API key. */
export async function startProviders(opts: { krakenSecrets?: string[] } = {}): Promise<Providers> {
  const apiKey = `kraken-sec-${randomUUID()}`;
  const kraken = await startKrakenSimulator({ apiKey, apiSecret: KRAKEN_API_SECRET, webhookSecrets: [KRAKEN_SECRETS[0]!], autoVerify: false, decisionDelayMs: 100 });
  const wealthyhood = await startWealthyhoodSimulator({
    clientId: 'sim-wealthyhood-client', clientSecret: 'sim-wealthyhood-secret', audience: 'https://api.wealthyhood.com', decisionDelayMs: 600_000,
  });
  return {
    kraken, wealthyhood, urls: { kraken: kraken.url, wealthyhood: wealthyhood.url },
    env: { KRAKEN_API_KEY: apiKey, KRAKEN_API_SECRET, KRAKEN_WEBHOOK_SECRETS: (opts.krakenSecrets ?? KRAKEN_SECRETS).join(',') },
    async close() {
      await kraken.close();
      await wealthyhood.close();
      const r = new Redis(REDIS_URL);
      await r.del(...Object.values(nonceKeys(apiKey)));
      r.disconnect();
    },
  };
}

/** The service (and its Kira simulator) with Kraken and Wealthyhood configured too. */
export function startFullStack(p: Providers, opts: StackOptions = {}): Promise<Stack> {
  return startStack({ sim: { autoVerify: false, faults: { drop: 1 } }, ...opts, env: { ...p.env, ...opts.env }, providerUrls: { ...p.urls, ...opts.providerUrls } });
}

/** Stops a stack's service and Kira simulator but keeps its Redis keys: a restart follows. */
export async function stopKeepingData(stack: Stack): Promise<void> {
  await stack.svc.close();
  await stack.sim.close();
}

export async function caseOf(stack: Stack, id: string): Promise<any> {
  return (await stack.api(`/v1/cases/${id}`)).body;
}

export function until(stack: Stack, id: string, status: string): Promise<any> {
  return waitFor(async () => {
    const c = await caseOf(stack, id);
    return c.status === status ? c : undefined;
  }, { timeoutMs: 20_000, what: `case ${id} to be ${status}` });
}

/** Starts an onboarding and waits until it is `status`; the case with its provider user id. */
export async function onboard(stack: Stack, provider: 'kira' | 'kraken', status: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const person = applicant(provider === 'kraken' ? { occupation: 'computers_and_it', tosVersionAccepted: 3, ...overrides } : overrides);
  const res = await stack.api('/v1/onboardings', { body: { provider, applicant: person } });
  if (res.status !== 202) throw new Error(`onboarding answered ${res.status}`);
  return until(stack, res.body.caseId as string, status);
}

export function kiraEvent(type: string, userId: string, data: Record<string, unknown> = {}, eventId: string = randomUUID()): string {
  return JSON.stringify({ event: type, data: { event_id: eventId, user_id: userId, ...data } });
}

export function krakenEvent(type: string, iiban: string, id = `EVT${randomUUID().slice(0, 12).toUpperCase()}`): string {
  return JSON.stringify({ event_type: type, iiban, id, timestamp: new Date().toISOString().replace('Z', '000000Z') });
}

export async function deliverKira(url: string, body: string, secret: string = SECRETS[0]!): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/webhooks/kira`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-sha256': signKira(body, secret) }, body });
  return { status: res.status, body: await res.text() };
}

export async function deliverKraken(url: string, body: string, opts: { secret?: string; t?: number } = {}): Promise<{ status: number; body: string }> {
  const t = opts.t ?? Math.floor(Date.now() / 1000);
  const res = await fetch(`${url}/webhooks/kraken`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': `t=${t},v1=${signKrakenWebhook(opts.secret ?? KRAKEN_SECRETS[0]!, t, body)}` }, body,
  });
  return { status: res.status, body: await res.text() };
}

/** Waits until no job of the event queue is waiting, active or delayed (every webhook applied). */
export async function eventsSettled(stack: Stack): Promise<void> {
  const q = stack.svc.producer.queues().find((x) => x.name === 'kyc-events')!;
  await waitFor(async () => {
    const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(c).every((n) => n === 0);
  }, { what: 'event queue drained' });
}
