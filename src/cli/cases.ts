/**
 * `cases list`, `cases show <id>`, `cases verify-audit <id>`: the operator's read side, straight
 * from the case store (the same data `GET /v1/cases` serves).
 */
import { caseView } from '../api/case-view.js';
import { CaseListQuery } from '../api/schemas.js';
import { CASE_STATUSES, PROVIDER_IDS, type KycCase } from '../kyc/types.js';
import { zodFieldErrors } from '../lib/problem.js';
import type { CaseListQuery as ListQuery } from '../store/case-store.js';
import type { CliDeps } from './context.js';
import { renderCaseHeader, renderTimeline } from './render-case.js';
import { CliError, EXIT, optFlag, optString, UsageError, type CommandSpec, type Parsed, type RunContext } from './spec.js';
import { formatTime, reasonCodes, renderTable } from './table.js';

export function listQuery(args: Parsed, cmd: string, fixed: { status?: string } = {}): ListQuery {
  const raw = {
    status: fixed.status ?? optString(args.values, 'status'),
    provider: optString(args.values, 'provider'),
    limit: optString(args.values, 'limit'),
    cursor: optString(args.values, 'cursor'),
  };
  const q = CaseListQuery.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!q.success) throw new UsageError(zodFieldErrors(q.error).map((e) => `--${e.field}: ${e.message}`).join('; '), cmd);
  return q.data;
}

/** Runs store.list, turning a bad cursor into a usage error. */
export async function listCases(deps: CliDeps, q: ListQuery, cmd: string): Promise<{ items: KycCase[]; nextCursor?: string }> {
  try {
    return await deps.store.list(q);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError('--cursor: not a cursor this command printed', cmd);
    throw err;
  }
}

export function nextPageHint(cmdLine: string, nextCursor: string | undefined): string {
  return nextCursor ? `more: ${cmdLine} --cursor ${nextCursor}\n` : '';
}

const LIST_OPTIONS = {
  status: { type: 'string', short: 's' },
  provider: { type: 'string', short: 'p' },
  limit: { type: 'string', short: 'n' },
  cursor: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const casesListCommand: CommandSpec = {
  path: ['cases', 'list'],
  summary: 'List cases, oldest first.',
  usage: '[--status <s>] [--provider <p>] [--limit <n>] [--cursor <c>] [--json]',
  details: `Ordered by the time each case entered its current status (the oldest first).

Options:
  -s, --status <s>     ${CASE_STATUSES.join(', ')}
  -p, --provider <p>   ${PROVIDER_IDS.join(', ')}
  -n, --limit <n>      at most this many, 1-200 (default 50)
      --cursor <c>     continue where a previous page ended (printed under the table)
      --json           print the cases as JSON (as the API shows them)`,
  options: LIST_OPTIONS,
  positionals: { min: 0, max: 0 },
  async run(ctx, args) {
    const q = listQuery(args, 'cases list');
    const deps = await ctx.deps();
    const page = await listCases(deps, q, 'cases list');
    const view = { now: deps.clock.now(), escalationSlaMs: deps.config.ESCALATION_SLA };
    if (optFlag(args.values, 'json')) {
      ctx.stdout.write(`${JSON.stringify({ items: page.items.map((c) => caseView(c, view)), nextCursor: page.nextCursor ?? null }, null, 2)}\n`);
      return EXIT.ok;
    }
    if (page.items.length === 0) {
      ctx.stdout.write('no cases match\n');
      return EXIT.ok;
    }
    ctx.stdout.write(renderTable(
      [{ header: 'CASE ID' }, { header: 'STATUS' }, { header: 'PROVIDER' }, { header: 'EXTERNAL ID', maxWidth: 40 }, { header: 'ATTEMPTS', align: 'right' }, { header: 'UPDATED' }, { header: 'REASONS', maxWidth: 50 }],
      page.items.map((c) => [c.id, c.status, c.provider, c.externalId, String(c.attempts), formatTime(c.updatedAt), reasonCodes(c.reasons)]),
    ));
    ctx.stdout.write(`${page.items.length} ${page.items.length === 1 ? 'case' : 'cases'}\n${nextPageHint(commandLine(args), page.nextCursor)}`);
    return EXIT.ok;
  },
};

function commandLine(args: Parsed): string {
  const parts = ['kyc-orchestrator cases list'];
  for (const k of ['status', 'provider', 'limit'] as const) {
    const v = optString(args.values, k);
    if (v !== undefined) parts.push(`--${k} ${v}`);
  }
  return parts.join(' ');
}

export async function getCaseOrFail(deps: CliDeps, id: string): Promise<KycCase> {
  const c = await deps.store.get(id);
  if (!c) throw new CliError(`no such case: ${id}`, EXIT.notFound);
  return c;
}

export const casesShowCommand: CommandSpec = {
  path: ['cases', 'show'],
  summary: 'Show a case and its timeline.',
  usage: '<case-id> [--json]',
  details: `Each timeline entry: time, source, event, from → to, then its reasons and detail.

Options:
      --json   print the case as JSON (as GET /v1/cases/:id returns it)

Applicant values are not shown (personal data), only which fields are present.
Exit codes: 0 shown · 3 no such case.`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx, args) {
    const deps = await ctx.deps();
    const c = await getCaseOrFail(deps, args.positionals[0] ?? '');
    const { entries } = await deps.store.timeline(c.id);
    const view = { now: deps.clock.now(), escalationSlaMs: deps.config.ESCALATION_SLA };
    if (optFlag(args.values, 'json')) {
      ctx.stdout.write(`${JSON.stringify(caseView(c, view, entries), null, 2)}\n`);
      return EXIT.ok;
    }
    ctx.stdout.write(`${renderCaseHeader(c, view)}\n${renderTimeline(entries)}`);
    return EXIT.ok;
  },
};

export const casesVerifyAuditCommand: CommandSpec = {
  path: ['cases', 'verify-audit'],
  summary: "Verify a case's hash-chained timeline.",
  usage: '<case-id>',
  details: 'Prints OK with the number of entries verified, or BROKEN with the first broken link.\nExit codes: 0 the chain is intact · 1 the chain is broken (tampered) · 2 usage · 3 no such case.',
  options: {},
  positionals: { min: 1, max: 1 },
  run: verifyAudit,
};

async function verifyAudit(ctx: RunContext, args: Parsed): Promise<number> {
  const id = args.positionals[0] ?? '';
  const deps = await ctx.deps();
  const verdict = await deps.store.verifyAudit(id);
  if (!verdict) throw new CliError(`no such case: ${id}`, EXIT.notFound);
  if (verdict.ok) {
    ctx.stdout.write(`OK: case ${id}: audit chain intact, ${verdict.entries} ${verdict.entries === 1 ? 'entry' : 'entries'} verified\n`);
    return EXIT.ok;
  }
  ctx.stdout.write(`BROKEN: case ${id}: first broken link at entry ${verdict.brokenAt}: ${verdict.problem}\n`);
  return EXIT.failure;
}
