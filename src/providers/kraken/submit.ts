/**
 * The Kraken calls create and remediation share beyond the user itself: the verification
 * submission and the partial PATCH, and the environment they run in.
 */
import type { Applicant } from '../../kyc/applicant.js';
import type { CallContext } from '../provider-adapter.js';
import { isOk, userPath, verificationPath, type KrakenClient } from './client.js';
import type { KrakenLedger } from './ledger.js';
import { buildUpdatePayload } from './payload.js';
import { buildVerificationForm } from './verification.js';

/** What the adapter's operations share. */
export interface KrakenEnv {
  client: KrakenClient;
  ledger: KrakenLedger;
  apiSecret: string;
}

/**
 * `POST /b2b/verifications/{user}` with the identity document; `ctx.idempotencyKey` is its
 * `external_verification_id`, so a retried submission is the same one. False without a document.
 */
export async function submitVerification(
  client: KrakenClient,
  iiban: string,
  a: Applicant,
  ctx: CallContext,
): Promise<boolean> {
  const form = buildVerificationForm(a, ctx.idempotencyKey);
  if (!form) return false;
  const res = await client.send({
    method: 'POST',
    path: verificationPath(iiban),
    raw: form,
    operation: 'submit_verification',
    signal: ctx.signal,
  });
  if (!isOk(res)) throw client.toError(res, 'submit_verification');
  return true;
}

/**
 * `PATCH /b2b/users/{user}` with only the named top-level fields (nested objects whole); returns
 * the fields sent. Kraken answers `{"result":"success"}`.
 */
export async function updateKrakenUser(
  client: KrakenClient,
  iiban: string,
  applicant: Applicant,
  topLevelFields: readonly string[],
  signal: AbortSignal,
): Promise<string[]> {
  const body = buildUpdatePayload(applicant, topLevelFields);
  const sent = Object.keys(body);
  if (sent.length === 0) return sent;
  const res = await client.send({
    method: 'PATCH',
    path: userPath(iiban),
    body,
    operation: 'update_user',
    signal,
  });
  if (!isOk(res)) throw client.toError(res, 'update_user');
  return sent;
}
