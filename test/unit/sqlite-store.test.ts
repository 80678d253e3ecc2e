import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { registerSecret } from '../../src/core/redact.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let now = Date.parse('2026-11-23T01:00:00Z');

beforeEach(() => {
  tmp = tempDir();
  now = Date.parse('2026-11-23T01:00:00Z');
  store = SqliteStore.open(join(tmp.dir, 'pay.db'), { clock: () => now });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

const newOrder = (orderNo = 'P0000000001', amountMinor = 1000) => ({ orderNo, kind: 'collect' as const, channel: 'mock', amountMinor, currency: 'CNY' });

describe('SqliteStore', () => {
  it('runs in WAL mode with migrations recorded once', async () => {
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const again = SqliteStore.open(store.location);
    const rows = again.db.prepare('SELECT version FROM schema_migrations').all();
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    await again.close();
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
    expect(() => store.db.prepare('UPDATE events SET type = ?').run('x')).toThrow(/append-only/);
    expect(() => store.db.prepare('DELETE FROM events').run()).toThrow(/append-only/);
  });

  it('records a callback once', async () => {
    const rec = { channel: 'mock', dedupKey: 'evt_1', eventType: 'payment.succeeded', bodySha256: 'ab', outcome: 'paid' };
    expect((await store.recordCallback(rec)).recorded).toBe(true);
    const again = await store.recordCallback({ ...rec, outcome: 'other' });
    expect(again.recorded).toBe(false);
    expect(again.previous?.outcome).toBe('paid');
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
