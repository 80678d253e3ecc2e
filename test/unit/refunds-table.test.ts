/**
 * The one refunds table (src/output/views refundsTable) as `pay orders show` and `pay query`
 * print it: the same columns, with the reason only in `orders show`.
 */
import { describe, expect, it } from 'vitest';
import type { Order, Refund } from '../../src/core/order.js';
import { presentShow } from '../../src/commands/orders.js';
import { presentQuery } from '../../src/commands/query.js';
import { formatBlocks } from '../../src/output/render.js';

const order: Order = {
  orderNo: 'ORD-1',
  kind: 'collect',
  channel: 'mock',
  status: 'succeeded',
  amountMinor: 10_000,
  currency: 'CNY',
  refundedMinor: 2_550,
  source: 'cli',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
} as Order;

const refund: Refund = {
  refundNo: 'RF-1',
  orderNo: 'ORD-1',
  channel: 'mock',
  status: 'succeeded',
  amountMinor: 2_550,
  currency: 'CNY',
  reason: 'damaged parcel',
  createdAt: '2026-12-02T00:00:00.000Z',
  updatedAt: '2026-12-02T00:00:00.000Z',
};

describe('refunds table', () => {
  it('orders show lists each refund with its reason, and says when there is none', () => {
    const text = formatBlocks(presentShow({ order, refunds: [refund], events: [] }).blocks, false);
    expect(text).toMatch(/Refunds\n.*refund no\s+status\s+amount\s+reason\s+created/);
    expect(text).toMatch(/RF-1\s+succeeded\s+25\.50 CNY\s+damaged parcel\s+2026-12-02T00:00:00\.000Z/);
    expect(formatBlocks(presentShow({ order, refunds: [], events: [] }).blocks, false)).toContain('No refunds.');
  });

  it('query lists the same columns without the reason, and no table when there are no refunds', () => {
    const r = { order, refunds: [refund], ignored: [], warnings: [], refundsNotAtChannel: [] };
    const text = formatBlocks(presentQuery(r).blocks, false);
    expect(text).toMatch(/Refunds\n.*refund no\s+status\s+amount\s+created/);
    expect(text).toMatch(/RF-1\s+succeeded\s+25\.50 CNY\s+2026-12-02T00:00:00\.000Z/);
    expect(text).not.toContain('damaged parcel');
    expect(formatBlocks(presentQuery({ ...r, refunds: [] }).blocks, false)).not.toContain('refund no');
  });
});
