/**
 * `dlq list` and `dlq replay <case-id>|--all [--dry-run]`: partner notifications that exhausted
 * their retry window, kept per case in order, and sent again on replay (src/notifications/dlq.ts).
 */
import { listDeadLetters, replayAll, replayDeadLetter, type ReplayResult } from '../notifications/dlq.js';
import { CliError, EXIT, optFlag, UsageError, type CommandSpec, type Parsed, type RunContext } from './spec.js';
import { formatTime, renderTable } from './table.js';

export const dlqListCommand: CommandSpec = {
  path: ['dlq', 'list'],
  summary: 'Partner notifications that exhausted their retries, by case, oldest first.',
  usage: '[--json]',
  details: `A dead-lettered case keeps all its undelivered notifications, in order; 'dlq replay' sends them again.

Options:
      --json   print the dead letters as JSON`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 0, max: 0 },
  run: listDlq,
};

async function listDlq(ctx: RunContext, args: Parsed): Promise<number> {
  const deps = await ctx.deps();
  const rows = await listDeadLetters(deps.redis, deps.config.QUEUE_PREFIX);
  if (optFlag(args.values, 'json')) {
    ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    ctx.stdout.write('no dead-lettered notifications\n');
    return EXIT.ok;
  }
  ctx.stdout.write(renderTable(
    [{ header: 'CASE ID' }, { header: 'NOTIFICATIONS', align: 'right' }, { header: 'DEAD-LETTERED' }, { header: 'FAILING SINCE' }, { header: 'LAST ERROR', maxWidth: 80 }],
    rows.map((r) => [r.caseId, String(r.notifications), formatTime(r.failedAt), formatTime(r.failingSince), r.lastError]),
  ));
  const total = rows.reduce((n, r) => n + r.notifications, 0);
  ctx.stdout.write(`${rows.length} ${rows.length === 1 ? 'case' : 'cases'}, ${total} ${total === 1 ? 'notification' : 'notifications'}\n`);
  return EXIT.ok;
}

export const dlqReplayCommand: CommandSpec = {
  path: ['dlq', 'replay'],
  summary: 'Send dead-lettered notifications again: one case, or --all.',
  usage: '<case-id>|--all [--dry-run] [--json]',
  details: `The case's notifications go back to the delivery queue in their original order, with a fresh
retry window and the same ids (partners deduplicate on webhook-id).

Options:
      --all       replay every dead-lettered case, oldest first
      --dry-run   show what would be replayed; change nothing
      --json      print the results as JSON

Exit codes: 0 replayed (or nothing to replay with --all) · 2 usage · 3 the case has no dead-lettered notifications.`,
  options: { all: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
  positionals: { min: 0, max: 1 },
  run: replayDlq,
};

async function replayDlq(ctx: RunContext, args: Parsed): Promise<number> {
  const all = optFlag(args.values, 'all');
  const id = args.positionals[0];
  if (all === (id !== undefined)) throw new UsageError(all ? 'give either a case id or --all, not both' : 'which case? give a case id, or --all', 'dlq replay');
  const dryRun = optFlag(args.values, 'dry-run');
  const deps = await ctx.deps();
  const prefix = deps.config.QUEUE_PREFIX;
  const results = id !== undefined
    ? [await replayDeadLetter(deps.redis, prefix, deps.producer, id, { dryRun })]
    : await replayAll(deps.redis, prefix, deps.producer, { dryRun });
  if (optFlag(args.values, 'json')) {
    ctx.stdout.write(`${JSON.stringify({ dryRun, results }, null, 2)}\n`);
  } else {
    for (const r of results) ctx.stdout.write(describe(r));
    ctx.stdout.write(footer(results, dryRun));
  }
  if (id !== undefined && results[0]?.outcome === 'not_dead_lettered') {
    throw new CliError(`case ${id} has no dead-lettered notifications (see 'kyc-orchestrator dlq list')`, EXIT.notFound);
  }
  return EXIT.ok;
}

function describe(r: ReplayResult): string {
  switch (r.outcome) {
    case 'not_dead_lettered':
      return '';
    case 'would_replay':
      return `would replay case ${r.caseId}: ${count(r.notifications.length)}\n${items(r)}`;
    case 'replayed':
      return `replayed case ${r.caseId}: ${count(r.notifications.length)} ${r.enqueued ? 'queued for delivery' : 'pending again (the next reconcile tick queues the delivery)'}\n${items(r)}`;
  }
}

function items(r: Extract<ReplayResult, { notifications: unknown }>): string {
  return r.notifications.map((n) => `  - ${n.type} ${n.id}${n.createdAt ? ` (${formatTime(n.createdAt)})` : ''}\n`).join('');
}

function count(n: number): string {
  return `${n} ${n === 1 ? 'notification' : 'notifications'}`;
}

function footer(results: ReplayResult[], dryRun: boolean): string {
  const hit = results.filter((r) => r.outcome !== 'not_dead_lettered');
  if (hit.length === 0) return results.length === 0 ? 'no dead-lettered notifications\n' : '';
  const n = hit.reduce((s, r) => s + ('notifications' in r ? r.notifications.length : 0), 0);
  return dryRun
    ? `dry run: ${hit.length} ${hit.length === 1 ? 'case' : 'cases'}, ${count(n)} would be replayed; nothing was changed\n`
    : `${hit.length} ${hit.length === 1 ? 'case' : 'cases'}, ${count(n)} replayed\n`;
}
