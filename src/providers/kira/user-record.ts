/**
 * Reading Kira user records out of response bodies. The response shapes are only partly known
 * (PROVIDERS.md §2.4: whether bodies are wrapped in `{message, data}`, and the list shape, are
 * [UNKNOWN]), so these readers accept every plausible shape and never guess a missing value.
 */
import { z } from 'zod';
import type { HttpResponse } from '../../lib/http.js';
import { RetryableError } from '../errors.js';

const UserRecordSchema = z.looseObject({
  user_id: z.string().min(1).nullish(),
  id: z.string().min(1).nullish(),
  status: z.string().min(1).nullish(),
  external_id: z.string().nullish(),
});

/** The few fields of a Kira user we read; absent (or null) ones are undefined, never guessed. */
export interface KiraUserRecord {
  userId: string;
  status?: string;
  externalId?: string;
}

/** Kira may or may not wrap bodies in `{message, data}`; accept both. */
function unwrap(json: unknown): unknown {
  if (json !== null && typeof json === 'object' && !Array.isArray(json) && 'data' in json) {
    return json.data;
  }
  return json;
}

function toRecord(value: unknown): KiraUserRecord | undefined {
  const parsed = UserRecordSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const userId = parsed.data.user_id ?? parsed.data.id;
  if (!userId) return undefined;
  const out: KiraUserRecord = { userId };
  if (parsed.data.status) out.status = parsed.data.status;
  if (typeof parsed.data.external_id === 'string') out.externalId = parsed.data.external_id;
  return out;
}

/** The user in a create or GET answer; an answer without a user id is retried, not trusted. */
export function readUser(res: HttpResponse, operation: string): KiraUserRecord {
  const user = toRecord(unwrap(res.json));
  if (!user) {
    throw new RetryableError(
      `Kira ${operation} answered HTTP ${res.status} without a user id`,
      res.status,
    );
  }
  return user;
}

/**
 * The users of a list answer (`[…]`, `{data: […]}`, `{users|items|results: […]}`), in order;
 * undefined when the answer holds no list at all.
 */
export function readUserList(json: unknown): KiraUserRecord[] | undefined {
  const body = unwrap(json);
  const nested = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const list: unknown = Array.isArray(body)
    ? body
    : (nested.users ?? nested.items ?? nested.results);
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((item) => toRecord(item) ?? []);
}
