/**
 * Progress reporting on stderr: a bar redrawn in place on a terminal (throttled), plain lines
 * every few seconds otherwise (CI logs, pipes). Messages printed through `log` never collide
 * with the bar: it is cleared first and redrawn after.
 */
import type { Output } from './spec.js';
import { formatDuration } from './table.js';

export interface ProgressStats {
  done: number;
  /** Unknown when reading a stream (stdin): no percentage, bar or ETA then. */
  total?: number;
  /** Short `label value` pairs shown after the count, e.g. `created 410`. */
  counters: [string, number][];
}

export interface Progress {
  update(stats: ProgressStats): void;
  /** Prints one message line above the bar. */
  log(line: string): void;
  /** Final redraw and newline (TTY) or a last plain line. */
  finish(stats: ProgressStats): void;
}

export interface ProgressOptions {
  stream: Output;
  label: string;
  /** Plain-line interval when the stream is not a terminal. Default 2 s. */
  plainIntervalMs?: number;
  /** Redraw interval on a terminal. Default 100 ms. */
  ttyIntervalMs?: number;
  now?: () => number;
}

const CLEAR_LINE = '\r\x1b[2K';

export function createProgress(opts: ProgressOptions): Progress {
  const now = opts.now ?? (() => performance.now());
  const tty = opts.stream.isTTY === true;
  const interval = tty ? (opts.ttyIntervalMs ?? 100) : (opts.plainIntervalMs ?? 2_000);
  const started = now();
  let last = tty ? -Infinity : started;
  let shown = false;
  let latest: ProgressStats | undefined;

  function draw(s: ProgressStats): void {
    if (tty) {
      opts.stream.write(`${CLEAR_LINE}${barLine(s, now() - started, opts.stream.columns || 100, opts.label)}`);
      shown = true;
    } else {
      opts.stream.write(`${plainLine(s, now() - started, opts.label)}\n`);
    }
  }

  return {
    update(s) {
      latest = s;
      const t = now();
      if (t - last < interval) return;
      last = t;
      draw(s);
    },
    log(line) {
      if (tty && shown) opts.stream.write(CLEAR_LINE);
      opts.stream.write(`${line}\n`);
      if (tty && latest) draw(latest);
    },
    finish(s) {
      draw(s);
      if (tty) opts.stream.write('\n');
    },
  };
}

function rateAndEta(s: ProgressStats, elapsedMs: number): { rate: number; eta: string } {
  const rate = elapsedMs > 0 ? (s.done * 1000) / elapsedMs : 0;
  const left = Math.max(0, (s.total ?? 0) - s.done);
  return { rate, eta: rate > 0 ? formatDuration((left / rate) * 1000) : '?' };
}

function percent(total: number, done: number): number {
  return total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100;
}

export function barLine(s: ProgressStats, elapsedMs: number, columns: number, label: string): string {
  const { rate, eta } = rateAndEta(s, elapsedMs);
  const counters = s.counters.map(([k, v]) => `${k} ${v}`).join(' · ');
  const fit = (line: string): string => [...line].slice(0, Math.max(20, columns - 1)).join('');
  if (s.total === undefined) return fit(`${label} ${s.done} lines · ${counters} · ${rate.toFixed(0)}/s`);
  const total = s.total;
  const tail = ` ${String(percent(total, s.done)).padStart(3)}% ${s.done}/${total} · ${counters} · ${rate.toFixed(0)}/s · ETA ${eta}`;
  const barWidth = Math.max(10, Math.min(30, columns - tail.length - label.length - 4));
  const filled = total > 0 ? Math.round((barWidth * Math.min(s.done, total)) / total) : barWidth;
  return fit(`${label} [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]${tail}`);
}

export function plainLine(s: ProgressStats, elapsedMs: number, label: string): string {
  const { rate } = rateAndEta(s, elapsedMs);
  const counters = s.counters.map(([k, v]) => `${k}=${v}`).join(' ');
  const count = s.total === undefined ? `${s.done} lines` : `${s.done}/${s.total} lines (${percent(s.total, s.done)}%)`;
  return `${label}: ${count} ${counters} ${rate.toFixed(0)}/s`;
}
