import { describe, expect, it } from 'vitest';
import type { Applicant } from '../../src/kyc/applicant.js';
import {
  ACTION_BY_CODE,
  createReasonMapper,
  decideAction,
  DEFAULT_REASON_RULES,
  ReasonRulesFileSchema,
} from '../../src/kyc/reasons.js';
import type { Reason } from '../../src/kyc/types.js';
import { REASON_CODES } from '../../src/kyc/types.js';

const aliases: Record<string, string> = { source_of_funds: 'sourceOfFunds', address_city: 'address.city' };
const fieldOf = (f: string): string | undefined => aliases[f];

const bare: Applicant = { externalId: 'partner-user-1' };
const withFunds: Applicant = { externalId: 'partner-user-1', sourceOfFunds: 'salary' };
const NO_ATTEMPTS = { attempts: 0, maxAttempts: 3 };

const r = (code: Reason['code'], field?: string): Reason =>
  field ? { code, field, providerText: `${code} ${field}` } : { code, providerText: code };

describe('createReasonMapper().map', () => {
  const mapper = createReasonMapper();

  it('maps a missing required field to missing_data with the aliased canonical field', () => {
    expect(mapper.map('Missing required field: source_of_funds', fieldOf)).toEqual({
      code: 'missing_data',
      field: 'sourceOfFunds',
      providerText: 'Missing required field: source_of_funds',
    });
  });

  it('keeps the provider field name when no alias is given', () => {
    expect(mapper.map('Missing required field: source_of_funds')).toMatchObject({ code: 'missing_data', field: 'source_of_funds' });
  });

  it('keeps the provider field name when the alias function does not know it', () => {
    expect(mapper.map('Missing required field: tax_id', fieldOf)).toMatchObject({ code: 'missing_data', field: 'tax_id' });
  });

  it.each([
    ['missing_fields=address_city', 'address.city'],
    ['Missing field address_city', 'address.city'],
    ['Missing required fields: source_of_funds', 'sourceOfFunds'],
  ])('finds the field in "%s"', (text, field) => {
    expect(mapper.map(text, fieldOf)).toMatchObject({ code: 'missing_data', field });
  });

  it('maps missing data without a field name to missing_data without field', () => {
    const reason = mapper.map('Required information is missing');
    expect(reason.code).toBe('missing_data');
    expect(reason).not.toHaveProperty('field');
  });

  it.each([
    ['Verification session expired', 'session_expired'],
    ['Document image unreadable', 'document_unreadable'],
    ['Identity document expired', 'document_expired'],
    ['Name does not match document', 'identity_mismatch'],
    ['Sanctions screening match', 'sanctions_or_pep'],
    ['Suspected document fraud', 'fraud_suspected'],
    ['Applicant under 18', 'underage'],
    ['Country not supported', 'unsupported_country'],
  ] as const)('maps "%s" to %s', (text, code) => {
    expect(mapper.map(text, fieldOf)).toEqual({ code, providerText: text });
  });

  it('maps "Identity document expired" to document_expired, not session_expired', () => {
    expect(mapper.map('Identity document expired').code).not.toBe('session_expired');
    expect(mapper.map('Identity document expired').code).toBe('document_expired');
  });

  it('matches case-insensitively', () => {
    expect(mapper.map('SUSPECTED DOCUMENT FRAUD').code).toBe('fraud_suspected');
    expect(mapper.map('verification SESSION expired').code).toBe('session_expired');
  });

  it.each(['Something unexpected happened', '', 'E_4711'])('maps unknown text "%s" to unknown', (text) => {
    expect(mapper.map(text)).toEqual({ code: 'unknown', providerText: text });
  });

  it('lets custom rules override the defaults', () => {
    const custom = createReasonMapper([
      { pattern: '^E_4711$', code: 'fraud_suspected' },
      { pattern: 'session', code: 'unknown' },
    ]);
    expect(custom.map('E_4711').code).toBe('fraud_suspected');
    expect(custom.map('Verification session expired').code).toBe('unknown');
    // The defaults are replaced, not merged.
    expect(custom.map('Applicant under 18').code).toBe('unknown');
  });

  it('uses the first matching rule', () => {
    const custom = createReasonMapper([
      { pattern: 'expired', code: 'document_expired' },
      { pattern: 'session', code: 'session_expired' },
    ]);
    expect(custom.map('Verification session expired').code).toBe('document_expired');
  });

  it('answers a repeated text as the first time, with each call\'s own field alias and its own object', () => {
    const m = createReasonMapper();
    const text = 'Missing required field: source_of_funds';
    const first = m.map(text, (f) => (f === 'source_of_funds' ? 'sourceOfFunds' : undefined));
    const again = m.map(text);
    expect(first).toEqual({ code: 'missing_data', field: 'sourceOfFunds', providerText: text });
    expect(again).toEqual({ code: 'missing_data', field: 'source_of_funds', providerText: text });
    (first as { code: string }).code = 'changed';
    expect(m.map(text).code).toBe('missing_data');
  });

  it('keeps mapping correctly past the number of distinct texts it remembers', () => {
    const m = createReasonMapper();
    for (let i = 0; i < 2_500; i++) {
      expect(m.map(`Suspected fraud #${i}`).code).toBe('fraud_suspected');
      expect(m.map(`Something else #${i}`).code).toBe('unknown');
    }
    expect(m.map('Verification session expired').code).toBe('session_expired');
  });
});

describe('DEFAULT_REASON_RULES and ReasonRulesFileSchema', () => {
  it('accepts the default rules as a rules file', () => {
    expect(ReasonRulesFileSchema.safeParse(DEFAULT_REASON_RULES).success).toBe(true);
  });

  it('rejects a rules file with an unknown code or an empty pattern', () => {
    const bad = ReasonRulesFileSchema.safeParse([
      { pattern: 'x', code: 'not_a_code' },
      { pattern: '', code: 'unknown' },
    ]);
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['0.code', '1.pattern']);
  });

  it('maps every reason code to an action', () => {
    for (const code of REASON_CODES) expect(['remediate', 'escalate', 'reject']).toContain(ACTION_BY_CODE[code]);
  });
});

describe('decideAction', () => {
  it.each([
    ['session_expired', 'remediate'],
    ['document_unreadable', 'escalate'],
    ['document_expired', 'escalate'],
    ['identity_mismatch', 'escalate'],
    ['sanctions_or_pep', 'escalate'],
    ['fraud_suspected', 'reject'],
    ['underage', 'reject'],
    ['unsupported_country', 'reject'],
    ['unknown', 'escalate'],
  ] as const)('decides %s → %s', (code, action) => {
    expect(decideAction([r(code)], bare, NO_ATTEMPTS).action).toBe(action);
  });

  it('remediates missing_data when the applicant has the field', () => {
    const d = decideAction([r('missing_data', 'sourceOfFunds')], withFunds, NO_ATTEMPTS);
    expect(d.action).toBe('remediate');
    expect(d.needsFields).toBeUndefined();
    expect(d.proposedAction).toMatch(/re-issue the verification/);
  });

  it('escalates missing_data with needsFields when the applicant lacks the field', () => {
    const d = decideAction([r('missing_data', 'sourceOfFunds'), r('missing_data', 'address.city')], withFunds, NO_ATTEMPTS);
    expect(d.action).toBe('escalate');
    expect(d.needsFields).toEqual(['address.city']);
    expect(d.proposedAction).toContain('supply address.city');
  });

  it('treats an empty string as a missing field', () => {
    const d = decideAction([r('missing_data', 'sourceOfFunds')], { externalId: 'x', sourceOfFunds: '' }, NO_ATTEMPTS);
    expect(d).toMatchObject({ action: 'escalate', needsFields: ['sourceOfFunds'] });
  });

  it('escalates missing_data without a field and names no fields', () => {
    const d = decideAction([r('missing_data')], withFunds, NO_ATTEMPTS);
    expect(d.action).toBe('escalate');
    expect(d.needsFields).toBeUndefined();
  });

  it('escalates an empty reason list as unknown', () => {
    expect(decideAction([], withFunds, NO_ATTEMPTS).action).toBe('escalate');
  });

  it('lets reject beat escalate and remediate', () => {
    const d = decideAction([r('session_expired'), r('sanctions_or_pep'), r('underage')], bare, NO_ATTEMPTS);
    expect(d.action).toBe('reject');
    expect(d.proposedAction).toMatch(/closed as rejected/);
  });

  it('lets reject beat escalate regardless of order', () => {
    expect(decideAction([r('fraud_suspected'), r('identity_mismatch')], bare, NO_ATTEMPTS).action).toBe('reject');
  });

  it('lets escalate beat remediate', () => {
    const d = decideAction([r('session_expired'), r('document_unreadable')], bare, NO_ATTEMPTS);
    expect(d.action).toBe('escalate');
    expect(d.proposedAction).toMatch(/manual review/);
  });

  it('does not ask for fields when the case is rejected anyway', () => {
    const d = decideAction([r('missing_data', 'sourceOfFunds'), r('fraud_suspected')], bare, NO_ATTEMPTS);
    expect(d.action).toBe('reject');
    expect(d.needsFields).toBeUndefined();
  });

  it('escalates a remediation once attempts reach maxAttempts', () => {
    const d = decideAction([r('session_expired')], bare, { attempts: 3, maxAttempts: 3 });
    expect(d.action).toBe('escalate');
    expect(d.proposedAction).toMatch(/exhausted after 3 attempts/);
    expect(d.needsFields).toBeUndefined();
  });

  it('escalates a remediation when attempts exceed maxAttempts', () => {
    expect(decideAction([r('session_expired')], bare, { attempts: 7, maxAttempts: 3 }).action).toBe('escalate');
  });

  it('still remediates below maxAttempts', () => {
    expect(decideAction([r('session_expired')], bare, { attempts: 2, maxAttempts: 3 }).action).toBe('remediate');
  });

  it('does not turn a reject into an escalation when attempts are exhausted', () => {
    expect(decideAction([r('fraud_suspected')], bare, { attempts: 9, maxAttempts: 3 }).action).toBe('reject');
  });
});
