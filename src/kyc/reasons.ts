/**
 * The reason taxonomy: provider reason text or code → one ReasonCode → one Action.
 * This is the only place that maps reasons; it is data (a rule table), overridable by JSON.
 */
import { z } from 'zod';
import { hasField, type Applicant } from './applicant.js';
import type { Action, Reason, ReasonCode } from './types.js';
import { REASON_CODES } from './types.js';

export interface ReasonRule {
  /** Case-insensitive regular expression matched against the provider's reason text or code. */
  pattern: string;
  code: ReasonCode;
}

/** Ordered: the first matching rule wins. */
export const DEFAULT_REASON_RULES: readonly ReasonRule[] = [
  { pattern: '(missing|required).*(field|data|information)|missing_fields?|^missing\\b', code: 'missing_data' },
  { pattern: 'document.*expired|expired.*document', code: 'document_expired' },
  { pattern: 'session.*expired|verification.*expired|expired.*session', code: 'session_expired' },
  { pattern: 'unreadable|blurry|illegible|poor.*quality', code: 'document_unreadable' },
  { pattern: 'does not match|mismatch|name.*match', code: 'identity_mismatch' },
  { pattern: 'sanction|\\bpep\\b|politically exposed|watch ?list', code: 'sanctions_or_pep' },
  { pattern: 'fraud', code: 'fraud_suspected' },
  { pattern: 'under ?18|underage|is a minor|below (the )?minimum age', code: 'underage' },
  { pattern: 'unsupported.*(country|jurisdiction)|country.*not supported', code: 'unsupported_country' },
];

export const ACTION_BY_CODE: Readonly<Record<ReasonCode, Action>> = {
  missing_data: 'remediate',
  session_expired: 'remediate',
  document_unreadable: 'escalate',
  document_expired: 'escalate',
  identity_mismatch: 'escalate',
  sanctions_or_pep: 'escalate',
  fraud_suspected: 'reject',
  underage: 'reject',
  unsupported_country: 'reject',
  duplicate_user: 'escalate',
  provider_error: 'escalate',
  unknown: 'escalate',
};

export const ReasonRulesFileSchema = z.array(
  z.object({ pattern: z.string().min(1), code: z.enum(REASON_CODES) }),
);

export interface ReasonMapper {
  /** `fieldOf` turns a provider field name found in the text into a canonical applicant path. */
  map(text: string, fieldOf?: (providerField: string) => string | undefined): Reason;
}

/** "…field: source_of_funds", "…fields=x", else "missing [required] [field] x". */
const FIELD_PATTERNS = [
  /fields?\s*[:=]\s*["'`]?([a-z][a-z0-9_.:]*)/i,
  /missing\s+(?:required\s+)?(?:field\s+)?["'`]?([a-z][a-z0-9_.:]*)/i,
];

function fieldInText(text: string): string | undefined {
  for (const re of FIELD_PATTERNS) {
    const m = re.exec(text)?.[1];
    if (m && !/^(required|field|fields|data|information)$/i.test(m)) return m;
  }
  return undefined;
}

/**
 * Distinct reason texts remembered with their rule's verdict. Providers send few distinct texts
 * (a fixed vocabulary), and matching one against the rule table costs more than the rest of a
 * webhook's parsing; the cap bounds memory whatever a provider sends.
 */
const MEMO_SIZE = 1_000;

export function createReasonMapper(rules: readonly ReasonRule[] = DEFAULT_REASON_RULES): ReasonMapper {
  const compiled = rules.map((r) => ({ re: new RegExp(r.pattern, 'i'), code: r.code }));
  const memo = new Map<string, { code: ReasonCode; raw?: string }>();
  function classify(text: string): { code: ReasonCode; raw?: string } {
    const known = memo.get(text);
    if (known) return known;
    const code: ReasonCode = compiled.find((r) => r.re.test(text))?.code ?? 'unknown';
    const verdict = code === 'missing_data' ? { code, raw: fieldInText(text) } : { code };
    if (memo.size >= MEMO_SIZE) memo.clear(); // the domain imports nothing: lib/memo.ts's pattern, inline
    memo.set(text, verdict);
    return verdict;
  }
  return {
    map(text, fieldOf) {
      const { code, raw } = classify(text);
      if (code !== 'missing_data') return { code, providerText: text };
      const field = raw ? (fieldOf?.(raw) ?? raw) : undefined;
      return field ? { code, field, providerText: text } : { code, providerText: text };
    },
  };
}

export interface ActionDecision {
  action: Action;
  /** Human-readable next step shown to the operator. */
  proposedAction: string;
  needsFields?: string[];
}

const SEVERITY: Record<Action, number> = { remediate: 0, escalate: 1, reject: 2 };

/**
 * Chooses the action for a set of reasons: the most severe action of any reason wins.
 * `missing_data` remediates only when the applicant now has every named field.
 */
export function decideAction(
  reasons: readonly Reason[],
  applicant: Applicant,
  opts: { attempts: number; maxAttempts: number },
): ActionDecision {
  const list = reasons.length > 0 ? reasons : [{ code: 'unknown', providerText: '' } as Reason];
  let action: Action = 'remediate';
  const needs: string[] = [];
  for (const r of list) {
    let a = ACTION_BY_CODE[r.code];
    if (r.code === 'missing_data') {
      if (!r.field) a = 'escalate';
      else if (!hasField(applicant, r.field)) {
        a = 'escalate';
        needs.push(r.field);
      }
    }
    if (SEVERITY[a] > SEVERITY[action]) action = a;
  }
  if (action === 'remediate' && opts.attempts >= opts.maxAttempts) {
    return {
      action: 'escalate',
      proposedAction: `automatic remediation exhausted after ${opts.attempts} attempts: review the case and resolve with retry or reject`,
    };
  }
  if (action === 'escalate' && needs.length > 0) {
    return {
      action,
      proposedAction: `supply ${needs.join(', ')} with PATCH /v1/cases/{id}/applicant; remediation resumes automatically`,
      needsFields: needs,
    };
  }
  const proposed: Record<Action, string> = {
    remediate: 'update the provider profile and re-issue the verification',
    escalate: 'manual review: resolve with retry (after fixing the data) or reject',
    reject: 'none: the case is closed as rejected',
  };
  return { action, proposedAction: proposed[action] };
}
