/**
 * `/_sim` control routes (no auth, not recorded): the "Kira contact flips it" hook over HTTP and
 * a dump of the users, for `npm start` in simulated mode and for benchmarks.
 */
import { z } from 'zod';
import type { SimContext } from './context.js';
import { decodeSegment, send, type SimRequest } from './http.js';
import { validate } from './validation.js';

const FlipBody = z.strictObject({
  status: z.enum(['VERIFIED', 'REJECTED']),
  reasons: z.array(z.string().min(1)).optional(),
});

const FLIP = /^\/_sim\/users\/([^/]+)\/flip\/?$/;

/** The control route `r` names, if any (its body is read before it runs). */
export function simRoute(r: SimRequest, snapshot: () => unknown[]): ((ctx: SimContext) => void) | undefined {
  if (r.method === 'GET' && /^\/_sim\/users\/?$/.test(r.path)) return () => send(r, 200, { data: snapshot() });
  const m = r.method === 'POST' ? FLIP.exec(r.path) : null;
  if (!m) return undefined;
  return (ctx) => {
    const user = ctx.state.users.get(decodeSegment(m[1]!));
    if (!user) return send(r, 404, { code: 'not_found', message: 'User not found' });
    const v = validate(FlipBody, r.body);
    if (!v.ok) return send(r, 400, v.body);
    ctx.outcomes.flip(user, v.data.status, v.data.reasons);
    send(r, 200, { user_id: user.userId, status: user.status, verification_status: user.verificationStatus });
  };
}
