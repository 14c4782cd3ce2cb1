import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicant, startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let stack: Stack;
let doc: { paths: Record<string, unknown>; components: { schemas: Record<string, object> } };
let ajv: Ajv2020;
beforeAll(async () => {
  stack = await startStack();
  const res = await fetch(`${stack.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as typeof doc;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'openapi', components: doc.components });
});
afterAll(async () => stack.close());

function valid(name: string, body: unknown): true | string {
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`)!;
  return validate(body) ? true : ajv.errorsText(validate.errors);
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document covering the partner API and webhooks', () => {
    expect((doc as unknown as { openapi: string }).openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/onboardings', '/v1/cases', '/v1/cases/{caseId}', '/v1/cases/{caseId}/applicant', '/v1/cases/{caseId}/resolve', '/webhooks/{provider}']));
  });

  it('describes the real responses of the API', async () => {
    const example = JSON.parse(readFileSync('examples/applicant-kira.json', 'utf8'));
    expect(valid('OnboardingRequest', example)).toBe(true);
    expect(valid('OnboardingRequest', { provider: 'kira', applicant: { email: 'x@example.com' } })).not.toBe(true);

    const created = await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: applicant({ lastName: 'Sanctioned' }) } });
    expect(valid('OnboardingResponse', created.body)).toBe(true);
    const escalated = await waitFor(async () => { const c = await stack.api(`/v1/cases/${created.body.caseId}`); return c.body.status === 'escalated' ? c.body : undefined; });
    expect(valid('Case', escalated)).toBe(true);
    expect(valid('Case', { ...escalated, status: 'pending' })).not.toBe(true);
    expect(valid('CaseList', (await stack.api('/v1/cases?limit=5')).body)).toBe(true);
    expect(valid('Accepted', (await stack.api(`/v1/cases/${created.body.caseId}/resolve`, { body: { action: 'reject' } })).body)).toBe(true);
    expect(valid('Problem', (await stack.api('/v1/onboardings', { body: { provider: 'kira', applicant: {} } })).body)).toBe(true);
    expect(valid('Problem', (await stack.api('/v1/cases/nope')).body)).toBe(true);
    const ack = await fetch(`${stack.url}/webhooks/kira`, { method: 'POST', body: '{}', headers: { 'x-signature-sha256': 'ab' } });
    expect(ack.status).toBe(401);
    expect(valid('Problem', await ack.json())).toBe(true);
  });
});
