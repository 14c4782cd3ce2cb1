/**
 * `escalations list` (the review queue, oldest first, overdue ones flagged against
 * ESCALATION_SLA) and `escalations resolve <id> retry|reject` (as POST /v1/cases/:id/resolve).
 */
import { caseView } from '../api/case-view.js';
import { ResolveRequest } from '../api/schemas.js';
import { CaseConflictError } from '../kyc/state-machine.js';
import { PROVIDER_IDS, type KycCase } from '../kyc/types.js';
import { zodFieldErrors } from '../lib/problem.js';
import { getCaseOrFail, listCases, listQuery, nextPageHint } from './cases.js';
import { CliError, EXIT, optFlag, optString, UsageError, type CommandSpec, type Parsed, type RunContext } from './spec.js';
import { formatDuration, formatTime, reasonCodes, renderTable } from './table.js';

export const escalationsListCommand: CommandSpec = {
  path: ['escalations', 'list'],
  summary: 'The review queue: escalated cases, oldest first, overdue ones flagged.',
  usage: '[--provider <p>] [--limit <n>] [--cursor <c>] [--json]',
  details: `Options:
  -p, --provider <p>   ${PROVIDER_IDS.join(', ')}
  -n, --limit <n>      at most this many, 1-200 (default 50)
      --cursor <c>     continue where a previous page ended
      --json           print the cases as JSON (as the API shows them)

The SLA is ESCALATION_SLA (default 24h).`,
  options: {
    provider: { type: 'string', short: 'p' },
    limit: { type: 'string', short: 'n' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0 },
  run: listEscalations,
};

async function listEscalations(ctx: RunContext, args: Parsed): Promise<number> {
  const q = listQuery(args, 'escalations list', { status: 'escalated' });
  const deps = await ctx.deps();
  const page = await listCases(deps, q, 'escalations list');
  const now = deps.clock.now();
  const sla = deps.config.ESCALATION_SLA;
  const views = page.items.sort(bySince).map((c) => caseView(c, { now, escalationSlaMs: sla }));
  if (optFlag(args.values, 'json')) {
    ctx.stdout.write(`${JSON.stringify({ items: views, nextCursor: page.nextCursor ?? null }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (views.length === 0) {
    ctx.stdout.write('no open escalations\n');
    return EXIT.ok;
  }
  ctx.stdout.write(renderTable(
    [{ header: 'CASE ID' }, { header: 'PROVIDER' }, { header: 'EXTERNAL ID', maxWidth: 32 }, { header: 'ESCALATED' }, { header: 'AGE', align: 'right' }, { header: 'OVERDUE' }, { header: 'REASONS', maxWidth: 40 }, { header: 'PROPOSED ACTION', maxWidth: 70 }],
    views.map((v) => {
      const since = v.escalation?.since;
      return [v.caseId, v.provider, v.externalId, formatTime(since), since ? formatDuration(now.getTime() - Date.parse(since)) : '-', v.escalation?.overdue ? 'OVERDUE' : '-', reasonCodes(v.reasons), v.escalation?.proposedAction ?? '-'];
    }),
  ));
  const overdue = views.filter((v) => v.escalation?.overdue).length;
  ctx.stdout.write(`${views.length} ${views.length === 1 ? 'escalation' : 'escalations'}, ${overdue} overdue (SLA ${formatDuration(sla)})\n`);
  ctx.stdout.write(nextPageHint('kyc-orchestrator escalations list', page.nextCursor));
  return EXIT.ok;
}

function bySince(a: KycCase, b: KycCase): number {
  return (a.escalation?.since ?? a.updatedAt).localeCompare(b.escalation?.since ?? b.updatedAt);
}

export const escalationsResolveCommand: CommandSpec = {
  path: ['escalations', 'resolve'],
  summary: 'Resolve an escalated case: retry or reject.',
  usage: '<case-id> retry|reject [--note <text>]',
  details: `retry re-runs remediation with the current applicant data; reject closes the case.

Options:
      --note <text>   recorded in the case timeline (up to 2000 characters)

retry: a case with a provider user goes back to remediating; one whose create never succeeded
goes back to queued and is created again. reject: the case is closed as rejected.
Exit codes: 0 resolved · 1 the case is not escalated · 2 usage · 3 no such case.`,
  options: { note: { type: 'string' } },
  positionals: { min: 2, max: 2 },
  run: resolveEscalation,
};

const FOLLOW_UP: Partial<Record<KycCase['status'], string>> = {
  remediating: 'a remediation job is queued',
  queued: 'a create-user job is queued',
  rejected: 'the case is closed',
};

async function resolveEscalation(ctx: RunContext, args: Parsed): Promise<number> {
  const [id = '', action] = args.positionals;
  const body = ResolveRequest.safeParse({ action, note: optString(args.values, 'note') });
  if (!body.success) {
    const problems = zodFieldErrors(body.error).map((e) => (e.field === 'action' ? `action must be retry or reject (got "${action ?? ''}")` : `--${e.field}: ${e.message}`));
    throw new UsageError(problems.join('; '), 'escalations resolve');
  }
  const deps = await ctx.deps();
  const before = await getCaseOrFail(deps, id);
  let res;
  try {
    res = await deps.commands.apply(id, { kind: 'resolve', action: body.data.action, note: body.data.note });
  } catch (err) {
    if (err instanceof CaseConflictError) throw new CliError(`cannot resolve case ${id}: ${err.message}`, EXIT.failure);
    throw err;
  }
  if (res.outcome === 'missing') throw new CliError(`no such case: ${id}`, EXIT.notFound);
  const after = res.case;
  const follow = FOLLOW_UP[after.status];
  ctx.stdout.write(`case ${id}: ${before.status} → ${after.status} (resolved: ${body.data.action})${follow ? `; ${follow}` : ''}\n`);
  return EXIT.ok;
}
