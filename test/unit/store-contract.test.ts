/**
 * The Store contract, run against every backend (BACKENDS: SQLite, and PostgreSQL when
 * PAY_TEST_PG_URL is set): the same cases, one fresh database each.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { registerSecret } from '../../src/core/redact.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, type FreshDb } from '../helpers/backends.js';
import { tempDir } from '../helpers/cli.js';

const newOrder = (orderNo = 'P0000000001', amountMinor = 1000) => ({ orderNo, kind: 'collect' as const, channel: 'mock', amountMinor, currency: 'CNY' });

describe.each(BACKENDS)('Store contract on $name', (backend) => {
  let fresh: FreshDb;
  let store: Store;
  let now = Date.parse('2026-11-23T01:00:00Z');
  const open = (db = fresh.db) => openStore(resolveDbTarget(db), { clock: () => now });

  beforeEach(async () => {
    fresh = await backend.fresh();
    now = Date.parse('2026-11-23T01:00:00Z');
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    await fresh.cleanup();
  });

  it('records migrations once, however often the database is opened', async () => {
    const again = await open();
    await again.close();
    const rows = await backend.sql(fresh.db, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('refuses a database written by a newer pay, writing nothing', async () => {
    await backend.sql(fresh.db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')");
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayError);
    expect(err).toMatchObject({ code: 'CONFIG_ERROR', exitCode: 2, message: expect.stringContaining(`newer pay (schema 99, this pay knows ${MIGRATIONS.length})`) });
    expect(await backend.sql(fresh.db, 'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM orders')).toEqual([{ n: 0 }]);
  });

  it('creates an order once; the same number returns the existing order', async () => {
    const a = await store.createOrder(newOrder());
    expect(a.created).toBe(true);
    expect(a.order).toMatchObject({ status: 'created', amountMinor: 1000, refundedMinor: 0, createdAt: '2026-11-23T01:00:00.000Z' });
    const b = await store.createOrder({ ...newOrder(), amountMinor: 5 });
    expect(b.created).toBe(false);
    expect(b.order.amountMinor).toBe(1000);
    expect(await store.countOrders()).toBe(1);
  });

  it('moves orders through the state machine and logs each move', async () => {
    await store.createOrder(newOrder());
    now += 1000;
    const p = await store.updateOrder('P0000000001', { status: 'pending', channelTradeNo: 'T1' }, { source: 'test' });
    expect(p).toMatchObject({ changed: true, value: { status: 'pending', channelTradeNo: 'T1' } });
    now += 1000;
    const s = await store.updateOrder('P0000000001', { status: 'succeeded', paidAt: '2026-11-23T01:00:02.000Z' }, { source: 'test' });
    expect(s.value).toMatchObject({ status: 'succeeded', paidAt: '2026-11-23T01:00:02.000Z' });
    const back = await store.updateOrder('P0000000001', { status: 'pending' }, { source: 'test' });
    expect(back.changed).toBe(false);
    expect(back.ignored).toMatch(/never moves/);
    expect((await store.getOrder('P0000000001'))!.status).toBe('succeeded');
    const events = await store.listEvents({ orderNo: 'P0000000001' });
    expect(events.map((e) => [e.type, e.data.to])).toEqual([
      ['order.created', undefined],
      ['order.status', 'pending'],
      ['order.status', 'succeeded'],
    ]);
  });

  it('refuses refunds beyond what was paid, writing nothing', async () => {
    await store.createOrder(newOrder());
    await expect(store.createRefund({ refundNo: 'R0000000001', orderNo: 'P0000000001', amountMinor: 100 })).rejects.toThrow(/only a paid order/);
    await store.updateOrder('P0000000001', { status: 'succeeded' }, { source: 'test' });
    await store.createRefund({ refundNo: 'R0000000001', orderNo: 'P0000000001', amountMinor: 600 });
    const before = (await store.listEvents()).length;
    const err = await store.createRefund({ refundNo: 'R0000000002', orderNo: 'P0000000001', amountMinor: 401 }).catch((e) => e);
    expect(err).toBeInstanceOf(PayError);
    expect((err as PayError).code).toBe('INVALID_REQUEST');
    expect(await store.getRefund('R0000000002')).toBeUndefined();
    expect((await store.listEvents()).length).toBe(before);
    // In-flight refunds count, so the remainder is exactly 400.
    expect((await store.createRefund({ refundNo: 'R0000000002', orderNo: 'P0000000001', amountMinor: 400 })).created).toBe(true);
  });

  it('keeps the refunded total and status in step with refunds', async () => {
    await store.createOrder(newOrder());
    await store.updateOrder('P0000000001', { status: 'succeeded' }, { source: 'test' });
    await store.createRefund({ refundNo: 'R0000000001', orderNo: 'P0000000001', amountMinor: 600 });
    await store.createRefund({ refundNo: 'R0000000002', orderNo: 'P0000000001', amountMinor: 400 });
    await store.updateRefund('R0000000001', { status: 'succeeded' }, { source: 'test' });
    expect(await store.getOrder('P0000000001')).toMatchObject({ refundedMinor: 600, status: 'succeeded' });
    // A repeated success report changes nothing (no double count).
    expect((await store.updateRefund('R0000000001', { status: 'succeeded' }, { source: 'test' })).changed).toBe(false);
    expect((await store.getOrder('P0000000001'))!.refundedMinor).toBe(600);
    await store.updateRefund('R0000000002', { status: 'succeeded' }, { source: 'test' });
    expect(await store.getOrder('P0000000001')).toMatchObject({ refundedMinor: 1000, status: 'refunded' });
    // A failed refund releases its reservation.
    await store.createOrder(newOrder('P0000000002'));
    await store.updateOrder('P0000000002', { status: 'succeeded' }, { source: 'test' });
    await store.createRefund({ refundNo: 'R0000000003', orderNo: 'P0000000002', amountMinor: 1000 });
    await store.updateRefund('R0000000003', { status: 'failed', failureCode: 'X' }, { source: 'test' });
    expect((await store.createRefund({ refundNo: 'R0000000004', orderNo: 'P0000000002', amountMinor: 1000 })).created).toBe(true);
  });

  it('keeps the event log append-only and free of secrets', async () => {
    registerSecret('sk_test_abcdefghijklmnop1234');
    await store.appendEvent({ type: 'channel.call', data: { operation: 'x', note: 'key sk_test_abcdefghijklmnop1234 leaked?', privateKey: 'whatever-value-here' } });
    const [e] = await store.listEvents({ type: 'channel.call' });
    expect(JSON.stringify(e.data)).not.toContain('sk_test_abcdefghijklmnop1234');
    expect(e.data.privateKey).toBe('[redacted]');
    await expect(backend.sql(fresh.db, "UPDATE events SET type = 'x'")).rejects.toThrow(/append-only/);
    await expect(backend.sql(fresh.db, 'DELETE FROM events')).rejects.toThrow(/append-only/);
  });

  it('records a callback once', async () => {
    const rec = { channel: 'mock', dedupKey: 'evt_1', eventType: 'payment.succeeded', bodySha256: 'ab', outcome: 'paid' };
    expect((await store.recordCallback(rec)).recorded).toBe(true);
    const again = await store.recordCallback({ ...rec, outcome: 'other' });
    expect(again.recorded).toBe(false);
    expect(again.previous?.outcome).toBe('paid');
  });

  it('finds orders, refunds and callbacks by their numbers', async () => {
    expect(await store.getOrder('P0000000009')).toBeUndefined();
    await store.createOrder({ ...newOrder(), channelTradeNo: 'CH-1', subject: 'tea' });
    expect(await store.findOrderByChannelTradeNo('mock', 'CH-1')).toMatchObject({ orderNo: 'P0000000001', subject: 'tea' });
    expect(await store.findOrderByChannelTradeNo('alipay', 'CH-1')).toBeUndefined();
    await store.updateOrder('P0000000001', { status: 'succeeded', payload: { a: 1 } }, { source: 'test' });
    expect((await store.getOrder('P0000000001'))!.payload).toEqual({ a: 1 });
    now += 1000;
    await store.createRefund({ refundNo: 'R0000000002', orderNo: 'P0000000001', amountMinor: 100, reason: 'r' });
    now += 1000;
    await store.createRefund({ refundNo: 'R0000000001', orderNo: 'P0000000001', amountMinor: 200 });
    expect((await store.listRefunds('P0000000001')).map((r) => r.refundNo)).toEqual(['R0000000002', 'R0000000001']);
    expect(await store.getRefund('R0000000002')).toMatchObject({ amountMinor: 100, reason: 'r', currency: 'CNY', channel: 'mock', status: 'created' });
    expect(await store.getRefund('R0000000009')).toBeUndefined();
    const again = await store.createRefund({ refundNo: 'R0000000001', orderNo: 'P0000000001', amountMinor: 999 });
    expect(again).toMatchObject({ created: false, refund: { amountMinor: 200 } });
    await expect(store.createRefund({ refundNo: 'R0000000003', orderNo: 'P0000000404', amountMinor: 1 })).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
    await expect(store.updateOrder('P0000000404', { status: 'pending' }, { source: 'test' })).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
    await expect(store.updateRefund('R0000000404', { status: 'pending' }, { source: 'test' })).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
    const rec = { channel: 'mock', dedupKey: 'evt_9', eventType: 'payment.succeeded', orderNo: 'P0000000001', bodySha256: 'cd', outcome: 'paid' };
    expect(await store.getCallback('mock', 'evt_9')).toBeUndefined();
    await store.recordCallback(rec);
    expect(await store.getCallback('mock', 'evt_9')).toMatchObject({ ...rec, receivedAt: '2026-11-23T01:00:02.000Z' });
    expect((await store.listEvents({ type: 'refund.created', limit: 1 })).map((e) => e.refundNo)).toEqual(['R0000000002']);
    expect((await store.listEvents({ orderNo: 'P0000000001' })).map((e) => e.type)).toEqual(['order.created', 'order.status', 'refund.created', 'refund.created', 'callback.recorded']);
    expect(store.location).not.toMatch(/test-only/);
  });

  it('lists with filters, newest first, and counts', async () => {
    for (let i = 1; i <= 5; i++) {
      now += 1000;
      await store.createOrder({ ...newOrder(`P000000000${i}`), channel: i % 2 ? 'mock' : 'alipay' });
    }
    expect((await store.listOrders({ limit: 2 })).map((o) => o.orderNo)).toEqual(['P0000000005', 'P0000000004']);
    expect(await store.countOrders({ channel: 'mock' })).toBe(3);
    expect((await store.listOrders({ since: '2026-11-23T01:00:03.000Z' })).length).toBe(3);
  });

  it('reroutes only an unanswered order from the channel that holds it, with an event', async () => {
    await store.createOrder(newOrder('P0000000077'));
    const moved = await store.rerouteOrder('P0000000077', 'mock', 'alipay', { source: 'route.fallback' });
    expect(moved).toMatchObject({ channel: 'alipay', status: 'created' });
    expect((await store.getOrder('P0000000077'))?.channel).toBe('alipay');
    expect((await store.listEvents({ orderNo: 'P0000000077', type: 'order.rerouted' }))[0]).toMatchObject({ channel: 'alipay', data: { from: 'mock', to: 'alipay', source: 'route.fallback' } });
    await expect(store.rerouteOrder('P0000000077', 'mock', 'stripe', { source: 'x' })).rejects.toThrow(/created on alipay/);
    await store.updateOrder('P0000000077', { status: 'pending' }, { source: 'test' });
    await expect(store.rerouteOrder('P0000000077', 'alipay', 'stripe', { source: 'x' })).rejects.toThrow(/pending on alipay/);
  });
});

describe('SqliteStore', () => {
  it('runs in WAL mode', async () => {
    const t = tempDir();
    const store = SqliteStore.open(join(t.dir, 'pay.db'));
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await store.close();
    t.cleanup();
  });
});

describe('opening bad databases', () => {
  it('reports a corrupt file as a config error (exit 2)', () => {
    const t = tempDir();
    const path = join(t.dir, 'bad.db');
    writeFileSync(path, 'this is not a database, just text that is long enough to look like a header................');
    let err: unknown;
    try {
      SqliteStore.open(path);
    } catch (e) {
      err = e;
    }
    t.cleanup();
    expect(err).toBeInstanceOf(PayError);
    expect((err as PayError).code).toBe('CONFIG_ERROR');
    expect((err as PayError).message).toMatch(/not a pay database/);
  });

  it('reports an unwritable location as a config error (exit 2)', () => {
    const t = tempDir();
    let err: unknown;
    try {
      // Permission bits do not bind root; a path through a regular file fails for everyone.
      writeFileSync(join(t.dir, 'file'), 'x');
      SqliteStore.open(join(t.dir, 'file', 'pay.db'));
    } catch (e) {
      err = e;
    }
    t.cleanup();
    expect(err).toBeInstanceOf(PayError);
    expect((err as PayError).code).toBe('CONFIG_ERROR');
    expect((err as PayError).exitCode).toBe(2);
  });

  it('refuses a database written by a newer pay', async () => {
    const t = tempDir();
    const path = join(t.dir, 'new.db');
    const s = SqliteStore.open(path);
    s.db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')").run();
    await s.close();
    expect(() => SqliteStore.open(path)).toThrow(/newer pay/);
    t.cleanup();
  });
});
