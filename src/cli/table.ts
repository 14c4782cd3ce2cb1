/**
 * Plain-text tables and the small formatters the commands share (no dependency: widths are
 * counted in code points, which is right for the ASCII and Latin text the CLI prints).
 */
import type { Reason } from '../kyc/types.js';

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
  /** Longer cells are cut with an ellipsis. */
  maxWidth?: number;
}

function width(s: string): number {
  return [...s].length;
}

export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

function pad(s: string, w: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}

/** Renders rows under a header and a rule; the last column is not padded. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) => columns.map((c, i) => {
    const v = (r[i] ?? '').replace(/\s+/g, ' ');
    return c.maxWidth ? truncate(v, c.maxWidth) : v;
  }));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i] ?? ''))));
  const line = (vals: readonly string[]): string =>
    vals.map((v, i) => (i === vals.length - 1 && columns[i]?.align !== 'right' ? v : pad(v, widths[i] ?? 0, columns[i]?.align ?? 'left'))).join('  ').trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w)))];
  for (const r of cells) out.push(line(r));
  return `${out.join('\n')}\n`;
}

/** `2h 5m`, `3d 4h`, `45s`: the two largest units. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const units: [string, number][] = [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = s;
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (parts.length === 0 && u === 's')) parts.push(`${n}${u}`);
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** ISO time without the `T` and with milliseconds dropped: `2025-01-31 12:00:03Z`. */
export function formatTime(iso: string | undefined | null): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function formatReason(r: Reason): string {
  return `${r.code}${r.field ? ` (${r.field})` : ''}: ${r.providerText}`;
}

export function reasonCodes(reasons: readonly Reason[]): string {
  if (reasons.length === 0) return '-';
  return [...new Set(reasons.map((r) => (r.field ? `${r.code}:${r.field}` : r.code)))].join(', ');
}
