/**
 * `/_sim` control routes (no auth, not recorded): the "Kira contact flips it" hook over HTTP and
 * a dump of the users, for `npm start` in simulated mode and for benchmarks.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { SimContext } from './context.js';
import { validate } from './validation.js';

const FlipBody = z.strictObject({
  status: z.enum(['VERIFIED', 'REJECTED']),
  reasons: z.array(z.string().min(1)).optional(),
});

export function simRouter(ctx: SimContext, snapshot: () => unknown[]): Router {
  const r = Router();
  r.get('/users', (_req, res) => {
    res.json({ data: snapshot() });
  });
  r.post('/users/:id/flip', (req, res) => {
    const user = ctx.state.users.get(req.params.id);
    if (!user) return void res.status(404).json({ code: 'not_found', message: 'User not found' });
    const v = validate(FlipBody, req.body);
    if (!v.ok) return void res.status(400).json(v.body);
    ctx.outcomes.flip(user, v.data.status, v.data.reasons);
    res.json({
      user_id: user.userId,
      status: user.status,
      verification_status: user.verificationStatus,
    });
  });
  return r;
}
