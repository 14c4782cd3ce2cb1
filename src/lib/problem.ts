/**
 * RFC 9457 problem details. Every error answer of the service goes through here, so callers get
 * `application/problem+json` with field-level `errors[]`, and never a stack trace.
 */
import type { ZodError } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  instance?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, detail?: string, errors?: FieldError[]): Problem {
  const title = TITLES[status] ?? 'Error';
  return {
    type: `https://kyc-orchestrator.dev/problems/${title.toLowerCase().replace(/\s+/g, '-')}`,
    title,
    status,
    ...(detail ? { detail } : {}),
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Field errors from a zod error; `root` prefixes paths (e.g. `applicant`). */
export function zodFieldErrors(err: ZodError, root?: string): FieldError[] {
  return err.issues.map((i) => {
    const path = [root, ...i.path.map(String)].filter((x) => x !== undefined && x !== '').join('.');
    return { field: path || '(body)', message: i.message };
  });
}
