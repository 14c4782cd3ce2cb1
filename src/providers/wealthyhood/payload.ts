/**
 * Canonical applicant → Wealthyhood's camelCase `POST /users` body for one schema version. Only the
 * version's fields are sent (the older schema has no `language`, `nationality`, `employmentInfo`);
 * absent values are omitted, and a nested object appears only when one of its fields has a value.
 */
import type { Applicant } from '../../kyc/applicant.js';
import { fieldsFor, wealthyhoodValue, type SchemaVersion } from './fields.js';

export type WealthyhoodPayload = Record<string, unknown>;

export function buildCreatePayload(a: Applicant, version: SchemaVersion): WealthyhoodPayload {
  const out: WealthyhoodPayload = {};
  for (const field of fieldsFor(version)) {
    const v = wealthyhoodValue(a, field);
    if (v !== undefined) setPath(out, field.wh, v);
  }
  return out;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  const last = parts.pop()!;
  let cur = target;
  for (const p of parts) {
    const next = cur[p];
    if (next === undefined || next === null || typeof next !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[last] = value;
}
