/**
 * The one progress line on stderr (reconcile, orders import, loadtest): only on a TTY, never with
 * --json or -q. {@link createStatusLine} rewrites a line of text; {@link createProgress} draws bytes,
 * rows and rate for long reads (large bills and exports), once the work has taken long enough to be
 * worth watching, so small files and scripts see nothing.
 */
import type { Writable } from 'node:stream';

/** Where and whether to draw. */
export interface ProgressSink {
  stderr: Writable;
  json: boolean;
  quiet: boolean;
}

/** A rewritten status line. */
export interface StatusLine {
  /** Replaces the line with `text`. */
  update(text: string): void;
  /** Prints `text` as a line of its own, above the status line. */
  line(text: string): void;
  /** Clears the line. */
  clear(): void;
}

const CLEAR = '\r\x1b[2K';

/** Whether the sink is a terminal a person watches (not --json, not -q). */
function watched(sink: ProgressSink): boolean {
  return Boolean((sink.stderr as { isTTY?: boolean }).isTTY) && !sink.json && !sink.quiet;
}

/** Creates a status line, or one that draws nothing when the sink is not a watched terminal. */
export function createStatusLine(sink: ProgressSink): StatusLine {
  if (!watched(sink)) return { update() {}, line() {}, clear() {} };
  let shown = false;
  const clear = () => {
    if (shown) sink.stderr.write(CLEAR);
    shown = false;
  };
  return {
    update(text) {
      sink.stderr.write(`${CLEAR}${text}`);
      shown = true;
    },
    line(text) {
      clear();
      sink.stderr.write(`${text}\n`);
    },
    clear,
  };
}

/** A progress line for long reads. */
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
  if (!watched(sink)) return { bytes() {}, rows() {}, phase() {}, done() {} };
  const status = createStatusLine(sink);
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
    status.update(text);
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
      status.clear();
    },
  };
}
