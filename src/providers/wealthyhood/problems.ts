/**
 * Wealthyhood error answers → a PII-free summary and field problems on canonical applicant paths.
 * The body shape itself is inferred (see `inferred.ts`, item 5); Auth0's token errors are
 * `{error, error_description}`, and API auth failures say why in `WWW-Authenticate`.
 */
import type { FieldProblem } from '../errors.js';
import { wealthyhoodFieldToCanonical } from './fields.js';
import { parseErrorBody, type ParsedErrorBody } from './inferred.js';

export interface WealthyhoodProblem {
  /** Safe for logs and error messages: codes and field names only. */
  summary: string;
  details: FieldProblem[];
}

const MAX_TEXT = 300;

/** Removes values a provider message might echo (quoted values, e-mails, long digit runs). */
export function scrub(text: string): string {
  return text
    .replace(/(['"`]).*?\1/g, '<redacted>')
    .replace(/[^\s@'"]+@[^\s@'"]+/g, '<redacted>')
    .replace(/\d{6,}/g, '<redacted>')
    .slice(0, MAX_TEXT);
}

/** Identifiers only: anything else is not repeated. */
function safeCode(code: string): string | undefined {
  return /^[\w.:-]{1,64}$/.test(code) ? code : undefined;
}

export function describeWealthyhoodError(
  body: unknown,
  wwwAuthenticate: string | null,
): WealthyhoodProblem {
  const parsed: ParsedErrorBody = parseErrorBody(body);
  const details: FieldProblem[] = parsed.fieldErrors.map((e) => {
    const message = scrub(e.message);
    if (!e.field) return { message };
    const field = wealthyhoodFieldToCanonical(e.field) ?? safeCode(e.field);
    return field ? { field, message } : { message };
  });
  const parts: string[] = [];
  const authError = wwwAuthenticate ? /error="([^"]+)"/.exec(wwwAuthenticate)?.[1] : undefined;
  const auth0Error = authError ?? auth0Code(body);
  if (auth0Error) parts.push(safeCode(auth0Error) ?? 'auth error');
  if (parsed.code) parts.push(safeCode(parsed.code) ?? 'error');
  const fields = [...new Set(details.flatMap((d) => (d.field ? [d.field] : [])))];
  if (fields.length > 0) parts.push(`(fields: ${fields.join(', ')})`);
  else if (parsed.message && !parts.includes(parsed.message)) parts.push(scrub(parsed.message));
  return { summary: parts.length > 0 ? parts.join(' ') : 'no error body', details };
}

function auth0Code(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { error, error_description: description } = body as Record<string, unknown>;
  return typeof error === 'string' && typeof description === 'string' ? error : undefined;
}
