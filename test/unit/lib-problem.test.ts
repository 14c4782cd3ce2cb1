import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { problem, zodFieldErrors } from '../../src/lib/problem.js';

const Body = z.object({
  provider: z.enum(['kira']),
  applicant: z.object({
    externalId: z.string().min(1),
    nationalities: z.array(z.string().length(2)),
    address: z.object({ city: z.string().min(1) }),
  }),
});

function errorOf(schema: z.ZodType, input: unknown): z.ZodError {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected a validation error');
  return r.error;
}

describe('zodFieldErrors', () => {
  const bad = { provider: 'nope', applicant: { externalId: '', nationalities: ['DE', 'DEU'], address: { city: '' } } };

  it('joins nested paths with dots, array indexes included', () => {
    const fields = zodFieldErrors(errorOf(Body, bad)).map((e) => e.field);
    expect(fields.sort()).toEqual(['applicant.address.city', 'applicant.externalId', 'applicant.nationalities.1', 'provider']);
  });

  it('prefixes every path with the root', () => {
    const fields = zodFieldErrors(errorOf(Body.shape.applicant, bad.applicant), 'applicant').map((e) => e.field);
    expect(fields.sort()).toEqual(['applicant.address.city', 'applicant.externalId', 'applicant.nationalities.1']);
  });

  it('keeps the zod message of each issue', () => {
    const errors = zodFieldErrors(errorOf(z.object({ n: z.number({ error: 'must be a number' }) }), { n: 'x' }));
    expect(errors).toEqual([{ field: 'n', message: 'must be a number' }]);
  });

  it('names the root for an issue about the whole value', () => {
    const err = errorOf(z.object({ a: z.string() }).strict(), { a: 'x', extra: 1 });
    expect(zodFieldErrors(err, 'applicant')).toEqual([{ field: 'applicant', message: expect.stringContaining('extra') }]);
  });

  it('names the body for an issue about the whole value without a root', () => {
    expect(zodFieldErrors(errorOf(z.string(), 42))).toEqual([{ field: '(body)', message: expect.any(String) }]);
  });

  it('ignores an empty root', () => {
    expect(zodFieldErrors(errorOf(z.object({ a: z.string() }), {}), '').map((e) => e.field)).toEqual(['a']);
  });
});

describe('problem', () => {
  it('builds an RFC 9457 body with field errors', () => {
    const errors = [{ field: 'applicant.phone', message: 'must be E.164' }];
    expect(problem(400, 'invalid applicant', errors)).toEqual({
      type: 'https://kyc-orchestrator.dev/problems/bad-request',
      title: 'Bad Request',
      status: 400,
      detail: 'invalid applicant',
      errors,
    });
  });

  it('leaves out an empty errors list and a missing detail', () => {
    const p = problem(409);
    expect(p).toEqual({ type: 'https://kyc-orchestrator.dev/problems/conflict', title: 'Conflict', status: 409 });
    expect(problem(404, 'no case', [])).not.toHaveProperty('errors');
  });

  it('titles an unlisted status generically', () => {
    expect(problem(418)).toMatchObject({ title: 'Error', status: 418 });
  });
});
