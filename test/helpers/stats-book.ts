/**
 * A book whose `pay stats` figures are known (test/e2e/stats.test.ts checks them, the stats
 * report test renders them): channel calls with chosen durations and errors on 2026-12-04 between
 * 10:00 and 12:00 UTC, orders and a refund with chosen amounts.
 */
import { isoUtc } from '../../src/core/time.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

/** 2026-12-04T10:00:00Z: the book's first hour. */
export const T10 = Date.parse('2026-12-04T10:00:00Z');

/** Writes the book into a new SQLite file at `db`. */
export async function writeStatsBook(db: string): Promise<void> {
  const store = SqliteStore.open(db);
  // mock.collect: 100 calls of 1..100 ms; calls 1-7 TIMEOUT, 8-10 SYSTEM_ERROR (failures), 11-15
  // INVALID_REQUEST (answers). 60 calls in the 10:00 hour, 40 in the 11:00 hour.
  for (let i = 1; i <= 100; i++) {
    const error = i <= 7 ? 'TIMEOUT' : i <= 10 ? 'SYSTEM_ERROR' : i <= 15 ? 'INVALID_REQUEST' : undefined;
    const at = i <= 60 ? T10 + i * 1000 : T10 + 3_600_000 + i * 1000;
    await store.appendEvent({ type: 'channel.call', channel: 'mock', at: isoUtc(at), data: { operation: 'mock.collect', durationMs: i, ...(error ? { error: { code: error, message: 'x' } } : {}) } });
  }
  // stripe collect: 10 calls of 200 ms, all answered, at 10:30.
  for (let i = 0; i < 10; i++) {
    await store.appendEvent({ type: 'channel.call', channel: 'stripe', at: isoUtc(T10 + 1_800_000 + i), data: { operation: 'collect', durationMs: 200 } });
  }
  // Events of other types are not calls.
  await store.appendEvent({ type: 'order.status', channel: 'mock', at: isoUtc(T10), data: { from: 'created', to: 'pending' } });
  // Orders: mock 10 x 1.00 CNY (6 paid, one of them refunded 0.50 then more; 2 failed, 2 pending); stripe 3 x 5.00 USD paid.
  const statuses = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'failed', 'failed', 'pending', 'pending'] as const;
  for (let i = 0; i < 10; i++) {
    await store.createOrder({ orderNo: `MOCKORDER${i}00`, kind: 'collect', channel: 'mock', amountMinor: 100, currency: 'CNY', status: statuses[i], createdAt: isoUtc(T10 + i * 1000), ...(statuses[i] === 'succeeded' ? { paidAt: isoUtc(T10 + i * 1000) } : {}) });
  }
  for (let i = 0; i < 3; i++) await store.createOrder({ orderNo: `STRIPEORDER${i}0`, kind: 'collect', channel: 'stripe', amountMinor: 500, currency: 'USD', status: 'succeeded', createdAt: isoUtc(T10 + 1_800_000), paidAt: isoUtc(T10 + 1_800_000) });
  await store.createRefund({ refundNo: 'MOCKREFUND01', orderNo: 'MOCKORDER000', amountMinor: 50, createdAt: isoUtc(T10 + 5000) });
  await store.updateRefund('MOCKREFUND01', { status: 'succeeded' }, { source: 'test' });
  await store.close();
}
