/**
 * Kraken error bodies → a PII-free summary and field problems on canonical applicant paths.
 * The Embed error envelope is [UNKNOWN]; we read the classic Kraken shape `{"error": ["ENexus:..."]}`
 * ([INF] from the `{result}` success bodies and the Go SDK) and the structured spot form
 * `{"errors": [{field, type, msg}]}` (krakenfx/api-specs). Invalid-arguments errors name the field
 * after the last colon: `EGeneral:Invalid arguments:residence.country` [INF].
 */
import { z } from 'zod';
import type { FieldProblem } from '../errors.js';
import { krakenFieldToCanonical } from './fields.js';

const Classic = z.looseObject({ error: z.array(z.string()).min(1) });
const Structured = z.looseObject({
  errors: z
    .array(
      z.looseObject({
        field: z.string().optional(),
        type: z.string().optional(),
        msg: z.string().optional(),
      }),
    )
    .min(1),
});

export interface KrakenProblem {
  /** Error codes only (`ENexus:Invalid user ID`), safe for logs and error messages. */
  summary: string;
  details: FieldProblem[];
  /** The raw codes, for decisions (invalid nonce, duplicate external id). */
  codes: string[];
}

/** Codes and field names are identifiers; anything that could carry a value is not repeated. */
function safe(text: string): string {
  return /^[\w .:[\]-]{1,100}$/.test(text) && !/\d{6,}|@/.test(text) ? text : 'error';
}

function fieldProblem(code: string): FieldProblem | undefined {
  const m = /^E\w+:Invalid arguments?:\s*(.+)$/i.exec(code);
  if (!m) return undefined;
  const raw = m[1]!.trim();
  const field = krakenFieldToCanonical(raw) ?? safe(raw);
  return { field, message: `invalid (${safe(raw)})` };
}

export function describeKrakenError(body: unknown): KrakenProblem {
  const classic = Classic.safeParse(body);
  if (classic.success) {
    const codes = classic.data.error;
    const details = codes.flatMap((c) => fieldProblem(c) ?? []);
    return { summary: [...new Set(codes.map(safe))].join('; '), details, codes };
  }
  const structured = Structured.safeParse(body);
  if (structured.success) {
    const codes = structured.data.errors.map(
      (e) => `${e.type ?? 'error'}${e.field ? `:${e.field}` : ''}`,
    );
    const details = structured.data.errors.flatMap((e): FieldProblem[] => {
      if (!e.field) return [];
      return [
        {
          field: krakenFieldToCanonical(e.field) ?? safe(e.field),
          message: safe(e.type ?? e.msg ?? 'invalid'),
        },
      ];
    });
    return { summary: [...new Set(codes.map(safe))].join('; '), details, codes };
  }
  return { summary: 'no error body', details: [], codes: [] };
}

/** `EAPI:Invalid nonce` (classic) or `{type: "Invalid nonce"}` (structured). */
export function isInvalidNonce(p: KrakenProblem): boolean {
  return p.codes.some((c) => /invalid nonce/i.test(c));
}

/** An error code that names the external id, or a user, as already taken. */
const DUPLICATE_USER = [
  /external[_ ]?id.*(already|exists|duplicate|taken|in use)|(already|duplicate|taken).*external[_ ]?id/i,
  /duplicate user|user (already exists|exists already)/i,
];

/**
 * A create refused because the `external_id` is taken. Only the answer's own words decide
 * (PROVIDERS.md §1.6/§1.7: a 409 means "conflicts with the current state of the resource", which
 * is also what `ENexus:Webhook already exists` says): any other 409, or one without a body, is
 * not a duplicate and is classified by `providers/errors.ts` like every other status.
 */
export function isDuplicateExternalId(status: number, p: KrakenProblem): boolean {
  if (status < 400 || status >= 500) return false;
  return p.codes.some((c) => DUPLICATE_USER.some((re) => re.test(c)));
}
