/**
 * The verification submission Kraken decides on (`POST /b2b/verifications/{user}`, PROVIDERS.md
 * §1.5): under Embed the partner submits the KYC evidence it collected. We submit the applicant's
 * identity document as an `identity_document` verification: multipart `type` + `metadata` (a JSON
 * string). [INF] beyond the docs: files are optional (we hold only the document's data, not its
 * images), the raw multipart bytes are what `API-Sign` covers (the Go SDK hashes whatever the body
 * is), and `external_verification_id` (our idempotency key, fixed per case and attempt) makes a
 * retried submission the same submission.
 */
import { randomBytes } from 'node:crypto';
import type { Applicant } from '../../kyc/applicant.js';

export const VERIFICATION_TYPE = 'identity_document';

/**
 * The canonical paths a verification needs (preflight reports them). The applicant schema makes
 * `type`, `number` and `country` required inside the document, so the document is the one field.
 */
export const VERIFICATION_FIELDS = ['identityDocument'] as const;

/** `metadata` of the identity-document verification, or undefined without a document. */
export function buildVerificationMetadata(
  a: Applicant,
  externalVerificationId: string,
): Record<string, unknown> | undefined {
  const doc = a.identityDocument;
  if (!doc) return undefined;
  const fullName =
    a.firstName && a.lastName
      ? {
          full_name: {
            first_name: a.firstName,
            last_name: a.lastName,
            ...(a.middleName ? { middle_name: a.middleName } : {}),
          },
        }
      : {};
  const identity = { ...fullName, ...(a.dateOfBirth ? { date_of_birth: a.dateOfBirth } : {}) };
  return {
    ...(Object.keys(identity).length > 0 ? { identity } : {}),
    document_type: doc.type,
    document_number: doc.number,
    issuing_country: doc.country,
    ...(doc.expiresOn ? { expiration_date: doc.expiresOn } : {}),
    ...(a.nationalities?.[0] ? { nationality: a.nationalities[0] } : {}),
    external_verification_id: externalVerificationId,
  };
}

/** `multipart/form-data` with text fields only, serialised once (these bytes are signed and sent). */
export function encodeForm(
  fields: Readonly<Record<string, string>>,
  boundary = `kyc-${randomBytes(16).toString('hex')}`,
): { body: string; contentType: string } {
  const parts = Object.entries(fields).map(
    ([name, value]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return {
    body: `${parts.join('')}--${boundary}--\r\n`,
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** The whole form of an identity-document verification, or undefined without a document. */
export function buildVerificationForm(
  a: Applicant,
  externalVerificationId: string,
): { body: string; contentType: string } | undefined {
  const metadata = buildVerificationMetadata(a, externalVerificationId);
  if (!metadata) return undefined;
  return encodeForm({ type: VERIFICATION_TYPE, metadata: JSON.stringify(metadata) });
}
