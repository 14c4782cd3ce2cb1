/**
 * Kira error bodies → a PII-free summary and field problems on canonical applicant paths.
 * Two shapes (PROVIDERS.md §2.5): schema errors
 * `{"error":"Invalid request data","details":[{path,message,code}]}` and business errors
 * `{"code","message"}`.
 */
import { z } from 'zod';
import type { FieldProblem } from '../errors.js';
import { kiraFieldToCanonical } from './fields.js';

const SchemaErrorBody = z.object({
  error: z.string(),
  details: z.array(
    z.looseObject({
      path: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]).optional(),
      message: z.string().optional(),
      code: z.string().optional(),
    }),
  ),
});

const BusinessErrorBody = z.looseObject({ code: z.string(), message: z.string().optional() });

export interface KiraProblem {
  /** Safe for logs and error messages: status words, Kira's error code and field names only. */
  summary: string;
  details: FieldProblem[];
}

const MAX_TEXT = 300;

/** Removes values a provider message might echo (`received 'x'`, e-mails, long digit runs). */
export function scrub(text: string): string {
  return text
    .replace(/received\s+(['"`]).*?\1/gi, 'received <redacted>')
    .replace(/[^\s@'"]+@[^\s@'"]+/g, '<redacted>')
    .replace(/\d{6,}/g, '<redacted>')
    .slice(0, MAX_TEXT);
}

export function describeKiraError(body: unknown): KiraProblem {
  const schema = SchemaErrorBody.safeParse(body);
  if (schema.success) {
    const details = schema.data.details.map((d) => toFieldProblem(d.path, d.message, d.code));
    const fields = [...new Set(details.flatMap((d) => (d.field ? [d.field] : [])))];
    const list = fields.length > 0 ? ` (fields: ${fields.join(', ')})` : '';
    return { summary: `invalid request data${list}`, details };
  }
  const business = BusinessErrorBody.safeParse(body);
  if (business.success) {
    const { code, message } = business.data;
    return { summary: safeCode(code), details: message ? [{ message: scrub(message) }] : [] };
  }
  return { summary: 'no error body', details: [] };
}

function toFieldProblem(
  path: string | (string | number)[] | undefined,
  message?: string,
  code?: string,
): FieldProblem {
  const raw = Array.isArray(path) ? path.join('.') : path;
  const text = scrub(message ?? code ?? 'invalid');
  if (!raw) return { message: text };
  return { field: kiraFieldToCanonical(raw) ?? safeCode(raw), message: text };
}

/** Codes and field names are identifiers; anything else is not repeated. */
function safeCode(code: string): string {
  return /^[\w.:-]{1,64}$/.test(code) ? code : 'error';
}
