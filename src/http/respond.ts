import type { Response } from 'express';
import { problem, type FieldError } from '../lib/problem.js';

export function sendProblem(res: Response, status: number, detail?: string, errors?: FieldError[]): void {
  res.status(status).type('application/problem+json').send(JSON.stringify(problem(status, detail, errors)));
}
