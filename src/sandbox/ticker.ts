/**
 * The clock side of a simulator: things that move on their own (payouts settling, orders
 * expiring, transfers finishing) are moved by an `advance()` the simulator runs on every request
 * and on a timer, so both a real clock and a test's moved clock drive them.
 */

/** Runs `advance` every `tickMs` (0 or less: never) on an unref'd timer; returns the stop function. */
export function startTicker(tickMs: number, advance: () => void): () => void {
  if (!(tickMs > 0)) return () => {};
  const timer = setInterval(advance, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}
