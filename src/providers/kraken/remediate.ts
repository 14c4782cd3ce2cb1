/**
 * Kraken remediation: PATCH exactly the updatable fields whose value differs from what Kraken
 * holds (the ledger's digests of what we sent; Embed's GET returns no profile fields), then
 * re-submit the identity-document verification unless the reasons were only missing data that the
 * PATCH supplied (Kraken re-evaluates its required actions after a PATCH [INF]). A session-type
 * reason, a document problem an operator fixed, or a corrected name all need the new submission.
 */
import type { Reason } from '../../kyc/types.js';
import { PermanentError } from '../errors.js';
import type { CallContext, RemediationInput } from '../provider-adapter.js';
import type { Applicant } from '../../kyc/applicant.js';
import { changedFields, digestFields, type FieldDigests } from './ledger.js';
import { buildUpdatablePayload } from './payload.js';
import { submitVerification, updateKrakenUser, type KrakenEnv } from './submit.js';

/** The PATCH-able top-level fields of `a` that differ from what the ledger says Kraken holds. */
export async function fieldsToPatch(
  env: KrakenEnv,
  iiban: string,
  a: Applicant,
): Promise<{ fields: string[]; digests: FieldDigests }> {
  const digests = digestFields(env.apiSecret, iiban, buildUpdatablePayload(a));
  return { fields: changedFields(digests, await env.ledger.fieldsOf(iiban)), digests };
}

const onlyMissingData = (reasons: readonly Reason[]): boolean =>
  reasons.length > 0 && reasons.every((r) => r.code === 'missing_data');

export async function remediateKraken(
  env: KrakenEnv,
  input: RemediationInput,
  ctx: CallContext,
): Promise<string> {
  const iiban = input.providerUserId;
  const { fields, digests } = await fieldsToPatch(env, iiban, input.applicant);
  const sent = await updateKrakenUser(env.client, iiban, input.applicant, fields, ctx.signal);
  if (sent.length > 0) {
    await env.ledger.recordPatch(iiban, Object.fromEntries(sent.map((f) => [f, digests[f]!])));
  }
  const patched = sent.length > 0 ? `PATCH ${sent.join(', ')}` : undefined;
  if (patched && onlyMissingData(input.reasons)) return patched;
  if (!patched && onlyMissingData(input.reasons)) {
    const named = [...new Set(input.reasons.flatMap((r) => (r.field ? [r.field] : [])))].join(', ');
    throw new PermanentError(
      `Kraken remediation: Kraken reports missing data (${named || 'no field named'}), but every field we hold already has the value Kraken was sent; nothing to PATCH: check the field with Kraken`,
      undefined,
    );
  }
  if (!(await submitVerification(env.client, iiban, input.applicant, ctx))) {
    throw new PermanentError(
      'Kraken remediation needs a new verification submission, and the applicant has no identityDocument to submit: supply identityDocument with PATCH /v1/cases/{id}/applicant and resolve with retry',
      undefined,
    );
  }
  return `${patched ?? 'no profile field differs from what Kraken holds'}; verification re-submitted`;
}
