/**
 * A complete canonical applicant the Wealthyhood simulator verifies (both schema versions), for
 * tests, benchmarks and demos. Each call gets a unique externalId and email (email is unique at
 * Wealthyhood). Override fields per use, e.g. `{ lastName: 'Sanctioned' }`.
 */
import { randomUUID } from 'node:crypto';

export function sampleWealthyhoodApplicant(
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const tag = randomUUID().slice(0, 8);
  return {
    externalId: `wh-${tag}`,
    email: `eleni.${tag}@example.com`,
    firstName: 'Eleni',
    lastName: 'Papadopoulou',
    dateOfBirth: '1990-05-15',
    language: 'el',
    nationalities: ['GR'],
    address: { line1: 'Ermou 10', city: 'Athens', postalCode: '10563', country: 'GR' },
    taxIds: [{ id: '123456789', country: 'GR' }],
    employmentStatus: 'FullTime',
    industry: 'FinanceAndInsurance',
    incomeRange: '5',
    sourcesOfWealth: ['Salary'],
    ...overrides,
  };
}
