/**
 * Readable renderings of a case: a header of its fields and its timeline, one entry per block
 * (time, source, event, from → to, then reasons and detail on their own lines).
 */
import { caseView } from '../api/case-view.js';
import type { KycCase, TimelineEntry } from '../kyc/types.js';
import { formatDuration, formatReason, formatTime } from './table.js';

export interface ViewCtx {
  now: Date;
  escalationSlaMs: number;
}

function field(label: string, value: string): string {
  return `  ${`${label}:`.padEnd(18)}${value}`;
}

export function renderCaseHeader(c: KycCase, ctx: ViewCtx): string {
  const v = caseView(c, ctx);
  const lines = [
    `Case ${v.caseId}`,
    field('status', v.status),
    field('provider', v.provider),
    field('external id', v.externalId),
    field('provider user', v.providerUserId ?? '-'),
    field('provider status', v.providerStatus ?? '-'),
    field('attempts', String(v.attempts)),
    field('created', formatTime(v.createdAt)),
    field('updated', formatTime(v.updatedAt)),
    field('decided', formatTime(v.decidedAt)),
  ];
  if (v.escalation) {
    const age = ctx.now.getTime() - Date.parse(v.escalation.since);
    lines.push(field('escalated since', `${formatTime(v.escalation.since)} (${formatDuration(age)} ago${v.escalation.overdue ? `, OVERDUE: SLA ${formatDuration(ctx.escalationSlaMs)}` : ''})`));
    lines.push(field('proposed action', v.escalation.proposedAction));
    if (v.escalation.needsFields?.length) lines.push(field('needs fields', v.escalation.needsFields.join(', ')));
  }
  if (v.reasons.length > 0) {
    lines.push('  reasons:');
    for (const r of v.reasons) lines.push(`    - ${formatReason(r)}`);
  }
  for (const e of v.providerErrors) lines.push(`  provider error:   ${e.field ? `${e.field}: ` : ''}${e.message}`);
  lines.push(field('applicant fields', v.applicantFields.join(', ') || '-'));
  return `${lines.join('\n')}\n`;
}

export function renderTimeline(entries: readonly TimelineEntry[]): string {
  if (entries.length === 0) return 'Timeline: (empty)\n';
  const seqWidth = String(entries.length - 1).length + 1;
  const srcWidth = Math.max(...entries.map((e) => e.source.length));
  const evtWidth = Math.min(40, Math.max(...entries.map((e) => e.event.length)));
  const indent = ' '.repeat(seqWidth + 2);
  const out = [`Timeline (${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, oldest first):`];
  for (const e of entries) {
    const move = e.from === e.to ? `${e.to} (unchanged)` : `${e.from ?? '∅'} → ${e.to}`;
    out.push(`${`#${e.seq}`.padStart(seqWidth)}  ${formatTime(e.at)}  ${e.source.padEnd(srcWidth)}  ${e.event.padEnd(evtWidth)}  ${move}`);
    for (const r of e.reasons ?? []) out.push(`${indent}reason: ${formatReason(r)}`);
    if (e.detail) out.push(`${indent}detail: ${e.detail}`);
  }
  return `${out.join('\n')}\n`;
}
