/**
 * Signed provider webhooks for load and fault tests, and a sender that records what each
 * delivery was answered and when.
 */
import { randomUUID } from 'node:crypto';
import { signKiraBody } from '../../src/simulators/kira/index.js';
import { SECRETS } from './stack.js';

export interface Delivery { eventId: string; caseKey: string; body: string; headers: Record<string, string> }
export interface Answer { delivery: Delivery; status: number | 'error'; text?: string; sentAt: number; answeredAt: number }

export function kiraDelivery(caseKey: string, userId: string, event: string, data: Record<string, unknown> = {}, eventId = randomUUID()): Delivery {
  const body = JSON.stringify({ event, data: { event_id: eventId, user_id: userId, ...data } });
  return { eventId, caseKey, body, headers: { 'content-type': 'application/json', 'x-signature-sha256': signKiraBody(body, SECRETS[0]!) } };
}

export async function post(url: string, d: Delivery): Promise<{ status: number | 'error'; text?: string }> {
  try {
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 'error' };
  }
}

/**
 * Sends every delivery with `concurrency` in flight, round-robin over `urls`, at most
 * `perSecond` started per second when given. Resolves with one answer per attempt; `answers`, when
 * given, is filled as the answers arrive (for a test that acts in the middle of the load).
 */
export async function sendAll(o: { urls: string[]; deliveries: Delivery[]; concurrency: number; perSecond?: number; answers?: Answer[] }): Promise<Answer[]> {
  const answers: Answer[] = o.answers ?? [];
  const started = Date.now();
  let next = 0;
  async function lane(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= o.deliveries.length) return;
      if (o.perSecond) {
        const due = started + (i * 1000) / o.perSecond;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const d = o.deliveries[i]!;
      const sentAt = Date.now();
      const got = await post(o.urls[i % o.urls.length]!, d);
      answers.push({ delivery: d, ...got, sentAt, answeredAt: Date.now() });
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, lane));
  return answers;
}

/** Fisher–Yates with a seeded generator, so a failing order can be replayed. */
export function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
