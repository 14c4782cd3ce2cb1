/**
 * A small partner-API client for tests that run the service as processes (keep-alive fetch).
 */
import { TOKEN } from './stack.js';

export interface ApiAnswer { status: number; body: any }

export async function callApi(base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<ApiAnswer> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${init.token ?? TOKEN}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * POST /v1/onboardings; returns the case id. A 503 (Redis slow or away) is retried as a partner
 * would, with the same externalId, which the API makes safe; anything else but 200/202 fails.
 */
export async function onboardVia(base: string, applicant: Record<string, unknown>, provider = 'kira'): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const res = await callApi(base, '/v1/onboardings', { body: { provider, applicant } });
    if (res.status === 202 || res.status === 200) return res.body.caseId as string;
    if (res.status !== 503 || attempt === 10) throw new Error(`onboarding answered ${res.status}: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 100 * attempt));
  }
}

export async function caseVia(base: string, id: string): Promise<any> {
  const res = await callApi(base, `/v1/cases/${id}`);
  if (res.status !== 200) throw new Error(`GET case answered ${res.status}`);
  return res.body;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
