/**
 * The idempotency store of a simulator: a key the client sends (Stripe's Idempotency-Key,
 * PayPal's PayPal-Request-Id) and what the first request with it was answered. A repeat with the
 * same fingerprint (what was asked) replays the answer; with another fingerprint it is a conflict
 * the simulator answers in its provider's shape. Server errors are not kept, so a retry after a
 * 5xx runs again, as providers do.
 */
import type { SimulatorResponse } from './contract.js';

/** What {@link IdempotencyStore.lookup} found for a key. */
export type IdempotencyHit = { kind: 'replay'; response: SimulatorResponse } | { kind: 'conflict' };

export class IdempotencyStore {
  private readonly seen = new Map<string, { fingerprint: string; response: SimulatorResponse }>();

  /** The stored answer for `key` (`replay`), a `conflict` when it was first used otherwise, or undefined. */
  lookup(key: string, fingerprint = ''): IdempotencyHit | undefined {
    const s = this.seen.get(key);
    if (!s) return undefined;
    return s.fingerprint === fingerprint ? { kind: 'replay', response: s.response } : { kind: 'conflict' };
  }

  /** Keeps the answer to `key` unless it is a server error (status 500 and up). */
  save(key: string, response: SimulatorResponse, fingerprint = ''): void {
    if (response.status < 500) this.seen.set(key, { fingerprint, response });
  }

  get size(): number {
    return this.seen.size;
  }
}
