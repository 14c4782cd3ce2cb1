/**
 * The inferred parts of the Wealthyhood contract (src/providers/wealthyhood/inferred.ts) and the
 * error description built on them: tolerant parsing, duplicate-email detection, no PII in output.
 */
import { describe, expect, it } from 'vitest';
import { describeWealthyhoodError } from '../../src/providers/wealthyhood/problems.js';
import { wealthyhoodInferred as inf } from '../../src/providers/wealthyhood/index.js';

describe('isDuplicateEmail', () => {
  it('is any 409, or a 400/422 naming the email as existing', () => {
    expect(inf.isDuplicateEmail(409, inf.parseErrorBody(undefined))).toBe(true);
    expect(
      inf.isDuplicateEmail(
        400,
        inf.parseErrorBody({ errors: [{ field: 'email', message: 'email already exists' }] }),
      ),
    ).toBe(true);
    expect(
      inf.isDuplicateEmail(
        422,
        inf.parseErrorBody({ message: 'User with this email is already registered' }),
      ),
    ).toBe(true);
    expect(
      inf.isDuplicateEmail(
        400,
        inf.parseErrorBody({ errors: [{ field: 'email', message: 'must be an email' }] }),
      ),
    ).toBe(false);
    expect(inf.isDuplicateEmail(400, inf.parseErrorBody({ message: 'Validation failed' }))).toBe(
      false,
    );
    expect(inf.isDuplicateEmail(500, inf.parseErrorBody({ message: 'email already exists' }))).toBe(
      false,
    );
  });
});

describe('parseErrorBody', () => {
  it('reads errors[], details[] with path arrays, and NestJS message arrays', () => {
    expect(
      inf.parseErrorBody({
        message: 'Validation failed',
        errors: [{ field: 'employmentInfo.industry', message: 'required' }],
      }),
    ).toEqual({
      message: 'Validation failed',
      fieldErrors: [{ field: 'employmentInfo.industry', message: 'required' }],
    });
    expect(
      inf.parseErrorBody({
        error: 'Bad Request',
        details: [{ path: ['address', 'city'], msg: 'missing' }],
      }).fieldErrors,
    ).toEqual([{ field: 'address.city', message: 'missing' }]);
    expect(
      inf.parseErrorBody({ statusCode: 400, message: ['nationality must match /^[A-Z]{2}$/'] })
        .fieldErrors,
    ).toEqual([{ field: 'nationality', message: 'nationality must match /^[A-Z]{2}$/' }]);
    expect(inf.parseErrorBody('<html>')).toEqual({ fieldErrors: [] });
  });
});

describe('user records', () => {
  it('reads id or _id, kycStatus and failure reasons under several names', () => {
    expect(
      inf.readUserRecord({
        _id: '64f0c51e7fb3fc001234a001',
        kycStatus: 'failed',
        kycFailureReasons: ['Sanctions screening match'],
      }),
    ).toMatchObject({
      id: '64f0c51e7fb3fc001234a001',
      kycStatus: 'failed',
      failureReasons: ['Sanctions screening match'],
    });
    expect(
      inf.readUserRecord({ user: { id: 'a', kycFailureReason: 'Identity document expired' } })
        ?.failureReasons,
    ).toEqual(['Identity document expired']);
    expect(
      inf.readUserRecord({ id: 'a', failureReasons: [{ reason: 'x' }, { code: 'y' }] })
        ?.failureReasons,
    ).toEqual(['x', 'y']);
  });

  it('reads lookup answers as a bare array or wrapped', () => {
    const u = { id: '64f0c51e7fb3fc001234a001', email: 'a@b.co' };
    expect(inf.readUserList([u])).toHaveLength(1);
    expect(inf.readUserList({ users: [u] })).toHaveLength(1);
    expect(inf.readUserList({ data: [u, u] })).toHaveLength(2);
    expect(inf.readUserList({ message: 'nope' })).toEqual([]);
  });
});

describe('describeWealthyhoodError', () => {
  it('maps field errors to canonical paths and never repeats values', () => {
    const p = describeWealthyhoodError(
      {
        message: 'Validation failed for jane@example.com',
        errors: [{ field: 'employmentInfo.industry', message: "got 'Jane Doe' 12345678" }],
      },
      null,
    );
    expect(p.details).toEqual([{ field: 'industry', message: 'got <redacted> <redacted>' }]);
    expect(p.summary).toBe('(fields: industry)');
    const plain = describeWealthyhoodError(
      { message: 'Validation failed for jane@example.com' },
      null,
    );
    expect(plain.summary).not.toContain('jane@example.com');
  });

  it('names the Auth0 error and the WWW-Authenticate reason', () => {
    expect(
      describeWealthyhoodError({ error: 'access_denied', error_description: 'Unauthorized' }, null)
        .summary,
    ).toBe('access_denied');
    expect(
      describeWealthyhoodError(
        { message: 'Insufficient scope' },
        'Bearer realm="api", error="insufficient_scope"',
      ).summary,
    ).toBe('insufficient_scope Insufficient scope');
  });
});
