/**
 * The clock side of a simulator: things that move on their own (payouts settling, orders
 * expiring, transfers finishing) are moved by an `advance()` the simulator runs on every request
 * and on a timer, so both a real clock and a test's moved clock drive them; one-shot timers (a
 * refund settling at its time) are kept in one place and cleared when the simulator closes.
 */

/** Runs `advance` every `tickMs` (0 or less: never) on an unref'd timer; returns the stop function. */
export function startTicker(tickMs: number, advance: () => void): () => void {
  if (!(tickMs > 0)) return () => {};
  const timer = setInterval(advance, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** One-shot timers a simulator sets (a refund settling, a payer paying), all cleared when it closes. */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  /** Runs `fn` once after `ms` on an unref'd timer (it never keeps the process alive). */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.pending.delete(t);
      fn();
    }, ms);
    t.unref();
    this.pending.add(t);
  }

  /** Cancels every timer not yet run (the simulator closes). */
  clear(): void {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }

  /** Timers not yet run. */
  get size(): number {
    return this.pending.size;
  }
}
