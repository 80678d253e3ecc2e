/** The simulators' shared ledger (src/sandbox/ledger.ts): balances, availability, holds. */
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/sandbox/ledger.js';

describe('sandbox ledger', () => {
  it('starts each currency at its opening amount and books credits and debits against it', () => {
    const l = new Ledger((c) => (c === 'CNY' ? 1_000 : 0));
    expect(l.balance('CNY', 0)).toEqual({ available: 1_000, pending: 0 });
    expect(l.available('USD', 0)).toBe(0);
    l.post({ currency: 'CNY', net: 994, atMs: 10 });
    l.post({ currency: 'CNY', net: -300, atMs: 20 });
    l.post({ currency: 'USD', net: 50, atMs: 30 });
    expect(l.available('CNY', 30)).toBe(1_694);
    expect(l.available('USD', 30)).toBe(50);
    expect(l.currencies()).toEqual(['CNY', 'USD']);
  });

  it('counts an entry as pending until its availability time, then as available', () => {
    const l = new Ledger(() => 100);
    const e = l.post({ currency: 'usd', net: 970, atMs: 1_000, availableAtMs: 5_000 });
    expect(l.isAvailable(e, 4_999)).toBe(false);
    expect(l.balance('usd', 4_999)).toEqual({ available: 100, pending: 970 });
    expect(l.balance('usd', 5_000)).toEqual({ available: 1_070, pending: 0 });
  });

  it('keeps held funds from being spent until released', () => {
    const l = new Ledger(() => 1_000);
    l.hold('batch-1', 'USD', 400);
    l.hold('batch-2', 'EUR', 999);
    expect(l.available('USD', 0)).toBe(600);
    l.release('batch-1');
    l.post({ currency: 'USD', net: -400, atMs: 1 });
    expect(l.available('USD', 1)).toBe(600);
    l.release('batch-2');
    expect(l.available('EUR', 1)).toBe(1_000);
  });

  it('finds entries by id and by time, and keeps what the provider shows for each', () => {
    const l = new Ledger<{ type: string }>(() => 0);
    l.post({ id: 'txn_1', currency: 'usd', net: 1, atMs: 100, detail: { type: 'charge' } });
    l.post({ id: 'txn_2', currency: 'usd', net: -1, atMs: 200, detail: { type: 'refund' } });
    expect(l.get('txn_2')?.detail).toEqual({ type: 'refund' });
    expect(l.get('txn_3')).toBeUndefined();
    expect(l.between(100, 200).map((e) => e.id)).toEqual(['txn_1']);
    expect(l.between(0, 1_000).map((e) => e.detail.type)).toEqual(['charge', 'refund']);
    expect(l.entries).toHaveLength(2);
  });
});
