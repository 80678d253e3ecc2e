/**
 * The StatsStore contract, for every backend: a small book written through the `Store` contract
 * (channel calls as `channel.call` events, orders, refunds), then every StatsStore query checked
 * against figures known by construction. A backend's test file is one call:
 *
 *   statsStoreSuite('sqlite', async () => { ...; return { store, stats, close } });
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoUtc } from '../../src/core/time.js';
import type { StatsStore } from '../../src/store/stats-store.js';
import type { Store } from '../../src/store/store.js';

export interface StatsBackend {
  store: Store;
  stats: StatsStore;
  close(): Promise<void>;
}

const T = Date.parse('2026-12-04T10:00:00Z');

/** Writes the known book. */
async function seed(store: Store): Promise<void> {
  const call = (channel: string, operation: string, atMs: number, durationMs: number, code?: string) =>
    store.appendEvent({ type: 'channel.call', channel, at: isoUtc(atMs), data: { operation, durationMs, ...(code ? { error: { code, message: 'x' } } : {}) } });
  // alipay precreate: 10 calls at 10:00-10:09, durations 10.04..100.04 ms; 2 TIMEOUT, 1 RATE_LIMITED, 2 INVALID_REQUEST.
  const codes = ['TIMEOUT', 'TIMEOUT', 'RATE_LIMITED', 'INVALID_REQUEST', 'INVALID_REQUEST'];
  for (let i = 0; i < 10; i++) await call('alipay', 'alipay.trade.precreate', T + i * 60_000, (i + 1) * 10 + 0.04, codes[i]);
  // alipay query: 4 calls at 11:00, 5 ms each, all fine.
  for (let i = 0; i < 4; i++) await call('alipay', 'alipay.trade.query', T + 3_600_000 + i, 5);
  // stripe collect: 2 calls, one CHANNEL_ERROR.
  await call('stripe', 'collect', T + 120_000, 300);
  await call('stripe', 'collect', T + 180_000, 100, 'CHANNEL_ERROR');
  // Not a channel call.
  await store.appendEvent({ type: 'http.call', channel: 'alipay', at: isoUtc(T), data: { operation: 'alipay.trade.precreate', durationMs: 1 } });
  // Orders and a refund.
  await store.createOrder({ orderNo: 'SUITEA0001', kind: 'collect', channel: 'alipay', amountMinor: 1000, currency: 'CNY', status: 'succeeded', createdAt: isoUtc(T), paidAt: isoUtc(T) });
  await store.createOrder({ orderNo: 'SUITEA0002', kind: 'collect', channel: 'alipay', amountMinor: 250, currency: 'CNY', status: 'closed', createdAt: isoUtc(T + 3_600_000) });
  await store.createOrder({ orderNo: 'SUITES0001', kind: 'payout', channel: 'stripe', amountMinor: 700, currency: 'USD', status: 'succeeded', createdAt: isoUtc(T), paidAt: isoUtc(T) });
  await store.createRefund({ refundNo: 'SUITER0001', orderNo: 'SUITEA0001', amountMinor: 300, createdAt: isoUtc(T + 60_000) });
  await store.updateRefund('SUITER0001', { status: 'succeeded' }, { source: 'suite' });
}

/** Runs the StatsStore contract against a backend opened by `open` (a fresh, empty book). */
export function statsStoreSuite(name: string, open: () => Promise<StatsBackend>): void {
  describe(`StatsStore contract: ${name}`, () => {
    let b: StatsBackend;
    beforeAll(async () => {
      b = await open();
      await seed(b.store);
    });
    afterAll(async () => b?.close());

    it('channelHealth: calls and failures in [since, until); a business refusal is no failure', async () => {
      const all = await b.stats.channelHealth(['alipay', 'stripe', 'wechatpay'], isoUtc(T));
      expect(Object.fromEntries(all)).toEqual({ alipay: { calls: 14, failures: 3 }, stripe: { calls: 2, failures: 1 } });
      const window = await b.stats.channelHealth(['alipay'], isoUtc(T + 2 * 60_000), isoUtc(T + 3_600_000));
      expect(window.get('alipay')).toEqual({ calls: 8, failures: 1 });
    });

    it('callGroups per channel and operation, and per bucket', async () => {
      expect(await b.stats.callGroups({})).toEqual([
        { channel: 'alipay', operation: 'alipay.trade.precreate', calls: 10, errors: 5, failures: 3 },
        { channel: 'alipay', operation: 'alipay.trade.query', calls: 4, errors: 0, failures: 0 },
        { channel: 'stripe', operation: 'collect', calls: 2, errors: 1, failures: 1 },
      ]);
      const hourly = await b.stats.callGroups({ channel: 'alipay', by: 'hour' });
      expect(hourly.map((g) => [g.operation, g.bucket, g.calls])).toEqual([
        ['alipay.trade.precreate', '2026-12-04T10', 10],
        ['alipay.trade.query', '2026-12-04T11', 4],
      ]);
      expect((await b.stats.callGroups({ by: 'day', until: isoUtc(T + 3_600_000) })).map((g) => [g.channel, g.bucket, g.calls])).toEqual([
        ['alipay', '2026-12-04', 10],
        ['stripe', '2026-12-04', 2],
      ]);
    });

    it('errorCodes: most frequent first, at most `limit` per channel and operation', async () => {
      expect(await b.stats.errorCodes({ channel: 'alipay' }, 2)).toEqual([
        { channel: 'alipay', operation: 'alipay.trade.precreate', code: 'INVALID_REQUEST', count: 2 },
        { channel: 'alipay', operation: 'alipay.trade.precreate', code: 'TIMEOUT', count: 2 },
      ]);
    });

    it('callLatencies: a count per duration (0.1 ms), summing to the calls', async () => {
      const l = await b.stats.callLatencies({ channel: 'alipay' });
      expect(l.reduce((s, x) => s + x.count, 0)).toBe(14);
      expect(l.find((x) => x.operation === 'alipay.trade.query')).toEqual({ channel: 'alipay', operation: 'alipay.trade.query', ms: 5, count: 4 });
      expect(l.filter((x) => x.operation === 'alipay.trade.precreate').map((x) => x.ms).sort((a, z) => a - z)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    });

    it('amounts per channel, kind and currency (and bucket)', async () => {
      expect(await b.stats.amounts({})).toEqual([
        { channel: 'alipay', currency: 'CNY', kind: 'collect', count: 2, paidCount: 1, paidMinor: 1000, byStatus: { succeeded: 1, closed: 1 } },
        { channel: 'alipay', currency: 'CNY', kind: 'refund', count: 1, paidCount: 1, paidMinor: 300, byStatus: { succeeded: 1 } },
        { channel: 'stripe', currency: 'USD', kind: 'payout', count: 1, paidCount: 1, paidMinor: 700, byStatus: { succeeded: 1 } },
      ]);
      const hourly = await b.stats.amounts({ channel: 'alipay', by: 'hour' });
      expect(hourly.filter((a) => a.kind === 'collect').map((a) => [a.bucket, a.count, a.paidMinor])).toEqual([
        ['2026-12-04T10', 1, 1000],
        ['2026-12-04T11', 1, 0],
      ]);
    });
  });
}
