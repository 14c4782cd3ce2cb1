/**
 * `/_sim` control routes (no auth, not recorded): the "Kira contact flips it" hook over HTTP and
 * a dump of the users, for `npm start` in simulated mode and for benchmarks.
 */
import { z } from 'zod';
import type { SimContext } from './context.js';
import { decodeSegment, send, type SimHandler, type SimRequest } from './http.js';
import type { SimUser } from './types.js';
import { validate } from './validation.js';

const FlipBody = z.strictObject({
  status: z.enum(['VERIFIED', 'REJECTED']),
  reasons: z.array(z.string().min(1)).optional(),
});

const USERS = /^\/_sim\/users\/?$/;
const FLIP = /^\/_sim\/users\/([^/]+)\/flip\/?$/;

/** Copies of every user, for the dump (and the simulator's `users()`). */
export function usersSnapshot(ctx: SimContext): SimUser[] {
  return [...ctx.state.users.values()].map((u) => structuredClone(u));
}

function dump(ctx: SimContext, r: SimRequest): void {
  send(r, 200, { data: usersSnapshot(ctx) });
}

function flip(ctx: SimContext, r: SimRequest): void {
  const user = ctx.state.users.get(r.id);
  if (!user) return send(r, 404, { code: 'not_found', message: 'User not found' });
  const v = validate(FlipBody, r.body);
  if (!v.ok) return send(r, 400, v.body);
  ctx.outcomes.flip(user, v.data.status, v.data.reasons);
  send(r, 200, { user_id: user.userId, status: user.status, verification_status: user.verificationStatus });
}

/** The control route `r` names, if any (its body is read before it runs). */
export function simRoute(r: SimRequest): SimHandler | undefined {
  if (r.method === 'GET' && USERS.test(r.path)) return dump;
  const m = r.method === 'POST' ? FLIP.exec(r.path) : null;
  if (!m) return undefined;
  r.id = decodeSegment(m[1]!);
  return flip;
}
