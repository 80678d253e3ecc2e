/**
 * A progress line on stderr for long reads (large bills and exports): only on a TTY, never with
 * --json or -q, and only once the work has taken long enough to be worth watching, so small files
 * and scripts see nothing.
 */
import type { Writable } from 'node:stream';

/** Where and whether to draw. */
export interface ProgressSink {
  stderr: Writable;
  json: boolean;
  quiet: boolean;
}

/** A progress line. */
export interface Progress {
  /** Bytes read so far (the bar, when the total is known). */
  bytes(read: number): void;
  /** Rows handled so far. */
  rows(count: number): void;
  /** Changes the label (`reading`, `matching`). */
  phase(label: string): void;
  /** Clears the line. */
  done(): void;
}

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  /** Total bytes, for a bar and a percentage. */
  totalBytes?: number;
  /** Delay before the first draw, ms (default 400). */
  delayMs?: number;
  /** Minimum time between draws, ms (default 100). */
  intervalMs?: number;
  now?: () => number;
}

const WIDTH = 24;

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

/** Creates a progress line, or one that draws nothing when the sink is not a terminal. */
export function createProgress(sink: ProgressSink, label: string, options: ProgressOptions = {}): Progress {
  const tty = Boolean((sink.stderr as { isTTY?: boolean }).isTTY);
  if (!tty || sink.json || sink.quiet) return { bytes() {}, rows() {}, phase() {}, done() {} };
  const now = options.now ?? (() => Date.now());
  const started = now();
  const delay = options.delayMs ?? 400;
  const interval = options.intervalMs ?? 100;
  let last = 0;
  let drawn = false;
  let read = 0;
  let count = 0;
  let current = label;
  const draw = (force = false) => {
    const t = now();
    if (!force && (t - started < delay || t - last < interval)) return;
    last = t;
    drawn = true;
    let text = `${current} `;
    const total = options.totalBytes;
    if (total && total > 0) {
      const share = Math.min(1, read / total);
      const fill = Math.round(share * WIDTH);
      text += `[${'#'.repeat(fill)}${'-'.repeat(WIDTH - fill)}] ${String(Math.floor(share * 100)).padStart(3)}% ${mb(read)}/${mb(total)} `;
    }
    const secs = (t - started) / 1000;
    text += `${count.toLocaleString('en-US')} rows`;
    if (secs > 0.5) text += ` (${Math.round(count / secs).toLocaleString('en-US')}/s)`;
    sink.stderr.write(`\r\x1b[2K${text}`);
  };
  return {
    bytes(n) {
      read = n;
      draw();
    },
    rows(n) {
      count = n;
      draw();
    },
    phase(name) {
      current = name;
      if (drawn) draw(true);
    },
    done() {
      if (drawn) sink.stderr.write('\r\x1b[2K');
    },
  };
}
