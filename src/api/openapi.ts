/**
 * The OpenAPI 3.1 document of the partner and operator API, generated from the same zod schemas
 * the routes validate with (src/api/schemas.ts): nothing is written twice by hand.
 */
import { z, type ZodType } from 'zod';
import {
  AcceptedResponse, ApplicantPatchRequest, CaseListQuery, CaseListResponse, CaseResponse, OnboardingRequest,
  OnboardingResponse, ProblemResponse, ResolveRequest, WebhookAck,
} from './schemas.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const schema = (s: ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
};
const json = (name: string): Json => ({ content: { 'application/json': { schema: ref(name) } } });
const problem = (description: string): Json => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const caseIdParam = { name: 'caseId', in: 'path', required: true, schema: { type: 'string' } };

function queryParams(s: ZodType): Json[] {
  const js = schema(s, 'input') as { properties: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties).map(([name, sch]) => ({ name, in: 'query', required: js.required?.includes(name) ?? false, schema: sch }));
}

export function buildOpenApi(): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'kyc-orchestrator', version: '0.1.0', description: 'Onboard end users at KYC providers and drive every onboarding to a decision.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        OnboardingRequest: schema(OnboardingRequest, 'input'),
        ApplicantPatch: schema(ApplicantPatchRequest, 'input'),
        ResolveRequest: schema(ResolveRequest, 'input'),
        OnboardingResponse: schema(OnboardingResponse, 'output'),
        Accepted: schema(AcceptedResponse, 'output'),
        Case: schema(CaseResponse, 'output'),
        CaseList: schema(CaseListResponse, 'output'),
        WebhookAck: schema(WebhookAck, 'output'),
        Problem: schema(ProblemResponse, 'output'),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/onboardings': {
        post: {
          summary: 'Start an onboarding (the same provider + externalId returns the same case)',
          requestBody: { required: true, ...json('OnboardingRequest') },
          responses: { 202: { description: 'case created', ...json('OnboardingResponse') }, 200: { description: 'existing case', ...json('OnboardingResponse') }, 400: problem('invalid applicant'), 401: problem('no valid token'), 404: problem('provider not enabled'), 503: problem('storage unavailable') },
        },
      },
      '/v1/cases': {
        get: {
          summary: 'List cases, oldest first (status=escalated is the review queue)',
          parameters: queryParams(CaseListQuery),
          responses: { 200: { description: 'a page of cases', ...json('CaseList') }, 400: problem('invalid query'), 401: problem('no valid token') },
        },
      },
      '/v1/cases/{caseId}': {
        get: { summary: 'A case with its hash-chained timeline', parameters: [caseIdParam], responses: { 200: { description: 'the case', ...json('Case') }, 401: problem('no valid token'), 404: problem('no such case') } },
      },
      '/v1/cases/{caseId}/applicant': {
        patch: {
          summary: 'Supply applicant data; an escalated case resumes automatically',
          parameters: [caseIdParam], requestBody: { required: true, ...json('ApplicantPatch') },
          responses: { 202: { description: 'accepted', ...json('Accepted') }, 400: problem('invalid data'), 401: problem('no valid token'), 404: problem('no such case'), 409: problem('case is terminal') },
        },
      },
      '/v1/cases/{caseId}/resolve': {
        post: {
          summary: 'Resolve an escalation: retry (re-run remediation) or reject',
          parameters: [caseIdParam], requestBody: { required: true, ...json('ResolveRequest') },
          responses: { 202: { description: 'accepted', ...json('Accepted') }, 400: problem('invalid request'), 401: problem('no valid token'), 404: problem('no such case'), 409: problem('case is not escalated') },
        },
      },
      '/webhooks/{provider}': {
        post: {
          summary: 'Provider webhooks (signature per provider; raw body up to 256 KB)', security: [],
          parameters: [{ name: 'provider', in: 'path', required: true, schema: { type: 'string', enum: ['kira', 'kraken', 'wealthyhood'] } }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: { 202: { description: 'durably queued (also duplicates and unknown event types)', ...json('WebhookAck') }, 400: problem('malformed JSON'), 401: problem('bad, missing or stale signature'), 404: problem('unknown provider'), 413: problem('body too large'), 503: problem('storage unavailable; retry') },
        },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { 200: { description: 'alive' } } } },
      '/readyz': { get: { summary: 'Readiness', security: [], responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } } } },
    },
  };
}
