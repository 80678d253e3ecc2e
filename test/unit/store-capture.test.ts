/**
 * The store's rule for captures: a partial capture makes the captured amount the order's amount
 * (with an `order.captured` event keeping the authorized amount); nothing else can change it. On
 * every backend (BACKENDS: SQLite, and PostgreSQL when PAY_TEST_PG_URL is set).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, type FreshDb } from '../helpers/backends.js';

const order = (orderNo: string) => ({ orderNo, kind: 'collect' as const, channel: 'stripe', amountMinor: 5000, currency: 'USD' });

describe.each(BACKENDS)('captured amounts on $name', (backend) => {
  let fresh: FreshDb;
  let store: Store;

  beforeEach(async () => {
    fresh = await backend.fresh();
    store = await openStore(resolveDbTarget(fresh.db));
  });
  afterEach(async () => {
    await store.close();
    await fresh.cleanup();
  });

  it('a partial capture on the move to succeeded becomes the amount, and the event keeps what was authorized', async () => {
    await store.createOrder(order('P0000000001'));
    await store.updateOrder('P0000000001', { status: 'pending' }, { source: 'test' });
    const r = await store.updateOrder('P0000000001', { status: 'succeeded', capturedMinor: 3000 }, { source: 'channel.capture' });
    expect(r.value).toMatchObject({ status: 'succeeded', amountMinor: 3000 });
    expect((await store.getOrder('P0000000001'))!.amountMinor).toBe(3000);
    const events = await store.listEvents({ orderNo: 'P0000000001' });
    expect(events.find((e) => e.type === 'order.captured')!.data).toMatchObject({ authorizedMinor: 5000, capturedMinor: 3000, releasedMinor: 2000, currency: 'USD' });
    // Refunds are bounded by the capture.
    await expect(store.createRefund({ refundNo: 'R0000000001', orderNo: 'P0000000001', amountMinor: 3001 })).rejects.toThrow(/exceeds/);
  });

  it('is ignored without the move to succeeded, above the authorization, or not positive', async () => {
    await store.createOrder(order('P0000000002'));
    await store.updateOrder('P0000000002', { status: 'pending', capturedMinor: 10 }, { source: 'test' });
    expect((await store.getOrder('P0000000002'))!.amountMinor).toBe(5000);
    await store.updateOrder('P0000000002', { status: 'succeeded', capturedMinor: 9000 }, { source: 'test' });
    expect((await store.getOrder('P0000000002'))!.amountMinor).toBe(5000);
    await store.updateOrder('P0000000002', { status: 'succeeded', capturedMinor: 1 }, { source: 'test' });
    expect((await store.getOrder('P0000000002'))!.amountMinor).toBe(5000);
    await store.createOrder(order('P0000000003'));
    await store.updateOrder('P0000000003', { status: 'succeeded', capturedMinor: 0 }, { source: 'test' });
    expect((await store.getOrder('P0000000003'))!.amountMinor).toBe(5000);
  });
});
