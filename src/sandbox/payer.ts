/**
 * The simulated payer acting on its own: with a delay set (a simulator's `payAfterMs` option),
 * each order the payer is shown is paid that long after it was made. It is driven by the
 * simulator's clock (checked on every advance, woken by a timer at the due time), so a test's
 * moved clock drives it as the real one does. Paying on demand (`POST /__sandbox/pay`) stays
 * the simulator's `simulatePayment`, which is also what a payer's `pay` usually calls.
 */
import type { Clock } from '../core/time.js';
import type { Timers } from './ticker.js';

/** What a {@link SimulatedPayer} needs from its simulator. */
export interface SimulatedPayerOptions {
  /** How long after an order is made the payer pays it; undefined: never on its own. */
  payAfterMs?: number;
  clock: Clock;
  timers: Timers;
  /** Pays the order (`atMs`: when the payer's time came); may refuse (closed or expired meanwhile). */
  pay(orderNo: string, atMs: number): void | Promise<void>;
  /** Where a refusal is reported. */
  log(message: string): void;
}

export class SimulatedPayer {
  /** Orders the payer will pay, and when. */
  private readonly due = new Map<string, number>();

  constructor(private readonly options: SimulatedPayerOptions) {}

  /** The payer is shown `orderNo`, made at `createdMs`: it pays it `payAfterMs` later (nothing without a delay). */
  expect(orderNo: string, createdMs: number): void {
    const { payAfterMs, clock, timers } = this.options;
    if (payAfterMs === undefined) return;
    const at = createdMs + payAfterMs;
    this.due.set(orderNo, at);
    timers.later(Math.max(0, at - clock()) + 5, () => this.advance());
  }

  /** Pays every order whose time has come by now, each once; a refusal is logged. */
  advance(): void {
    const now = this.options.clock();
    for (const [orderNo, at] of this.due) {
      if (now < at) continue;
      this.due.delete(orderNo);
      const refused = (err: unknown) => this.options.log(`auto-pay of ${orderNo} failed: ${(err as Error).message}`);
      try {
        Promise.resolve(this.options.pay(orderNo, at)).catch(refused);
      } catch (err) {
        refused(err);
      }
    }
  }
}
