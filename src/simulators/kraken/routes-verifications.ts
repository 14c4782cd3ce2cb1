/**
 * `POST /b2b/verifications/{user}` (PROVIDERS.md §1.5): multipart form with `type`, `metadata` (a
 * JSON string) and optional files, answered `{"result":{"verification_id":"…"}}`. A new
 * verification starts a decision (rule 5: the lifecycle is driven by verification submissions).
 *
 * [INF] beyond the docs: the same `metadata.external_verification_id` again for the same user is
 * the same submission (answered with its id, decided once), so a retried call never counts twice;
 * a disabled or closed user refuses verifications with 409; files are accepted and not inspected.
 */
import { Router, type Request, type Response } from 'express';
import type { SimContext } from './context.js';
import { rawBody, record } from './gateway.js';
import { parseMultipart, type FormPart } from './multipart.js';
import type { KrakenSimUser } from './types.js';
import {
  krakenError,
  validate,
  VERIFICATION_TYPES,
  verificationMetadataSchema,
} from './validation.js';

const invalid = (field: string) => krakenError(`EGeneral:Invalid arguments:${field}`);

type Submitted =
  | { ok: true; type: string; metadata: Record<string, unknown> }
  | { ok: false; body: { error: string[] } };

function readForm(parts: readonly FormPart[]): Submitted {
  const text = (n: string): string | undefined =>
    parts.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8');
  const type = text('type');
  if (!type || !(VERIFICATION_TYPES as readonly string[]).includes(type)) {
    return { ok: false, body: invalid('type') };
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(text('metadata') ?? '');
  } catch {
    return { ok: false, body: invalid('metadata') };
  }
  const v = validate(
    verificationMetadataSchema(type as (typeof VERIFICATION_TYPES)[number]),
    metadata,
  );
  if (!v.ok) {
    return {
      ok: false,
      body: {
        error: v.body.error.map((e) =>
          e.replace(':Invalid arguments:', ':Invalid arguments:metadata.'),
        ),
      },
    };
  }
  return { ok: true, type, metadata: v.data };
}

function submit(
  ctx: SimContext,
  user: KrakenSimUser,
  type: string,
  metadata: Record<string, unknown>,
): string {
  const external = metadata.external_verification_id;
  const same = user.verifications.find(
    (v) => external !== undefined && v.metadata.external_verification_id === external,
  );
  if (same) return same.id;
  const id = ctx.state.newId('VER');
  user.verifications.push({ id, type, metadata, at: ctx.state.nowIso() });
  ctx.state.touch(user);
  ctx.outcomes.start(user);
  return id;
}

function verify(ctx: SimContext, req: Request, res: Response): void {
  const iiban = String(req.params.user);
  if (iiban.length < 14 || iiban.length > 42) {
    return void res.status(400).json(krakenError('ENexus:Invalid user ID'));
  }
  const user = ctx.state.users.get(iiban);
  if (!user) return void res.status(404).json(krakenError('ENexus:User not found'));
  const parts = parseMultipart(rawBody(req), req.get('content-type'));
  if (!parts) return void res.status(400).json(invalid('body (not multipart/form-data)'));
  const rec = record(res);
  if (rec) rec.bodyKeys = [...new Set(parts.map((p) => p.name))];
  const form = readForm(parts);
  if (!form.ok) return void res.status(400).json(form.body);
  if (user.state !== 'ok') {
    return void res.status(409).json(krakenError(`ENexus:User ${user.state}`));
  }
  res.json({ result: { verification_id: submit(ctx, user, form.type, form.metadata) } });
}

export function verificationsRouter(ctx: SimContext): Router {
  const r = Router();
  r.post('/:user', (req, res) => verify(ctx, req, res));
  return r;
}
