/**
 * `/_sim` control routes (no auth, not recorded), for `npm start` in simulated mode and benchmarks:
 * a dump of the users, a scripted outcome ("Kraken operations acts on the user"), and a
 * `webhook.test` delivery.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { SimContext } from './context.js';
import { krakenError } from './validation.js';

const OutcomeBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('verify') }),
  z.strictObject({
    kind: z.literal('require'),
    reasons: z.array(z.string().min(1)).min(1),
    deadline: z.iso.datetime().optional(),
  }),
  z.strictObject({ kind: z.literal('disable'), reasons: z.array(z.string().min(1)).optional() }),
  z.strictObject({ kind: z.literal('close'), reasons: z.array(z.string().min(1)).optional() }),
]);

export function simRouter(ctx: SimContext, snapshot: () => unknown[]): Router {
  const r = Router();
  r.get('/users', (_req, res) => {
    res.json({ data: snapshot() });
  });
  r.post('/users/:user/outcome', (req, res) => {
    const user = ctx.state.users.get(req.params.user);
    if (!user) return void res.status(404).json(krakenError('ENexus:User not found'));
    const v = OutcomeBody.safeParse(req.body);
    if (!v.success) {
      return void res.status(400).json(krakenError('EGeneral:Invalid arguments:outcome'));
    }
    ctx.outcomes.apply(user, v.data);
    res.json({ result: 'success' });
  });
  r.post('/webhook-test', (_req, res) => {
    ctx.webhooks.testAll();
    res.json({ result: 'success' });
  });
  return r;
}
