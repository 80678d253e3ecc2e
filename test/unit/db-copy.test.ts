/**
 * Copying an order book (`pay db copy`) between every pair of backends: orders, refunds,
 * callbacks, events and reconciliation runs with their items (references between them kept),
 * and a rerun copies nothing twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BillRow } from '../../src/channel/contract.js';
import { reconcile } from '../../src/reconcile/engine.js';
import { copyBook, countRows } from '../../src/store/admin.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import type { ItemRecord } from '../../src/store/reconcile-store.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, type FreshDb } from '../helpers/backends.js';

const clock = () => Date.parse('2026-11-24T01:00:00Z');
const PAIRS = BACKENDS.flatMap((a) => BACKENDS.map((b) => ({ from: a, to: b, name: `${a.name} -> ${b.name}` })));

async function* stream(rows: BillRow[]): AsyncGenerator<BillRow> {
  let line = 1;
  for (const r of rows) yield { ...r, line: ++line };
}

async function itemsOf(store: Store, runId: number): Promise<Omit<ItemRecord, 'id' | 'runId' | 'originItem' | 'closedByRun'>[]> {
  const rs = await store.reconciliation();
  const out = [];
  try {
    for await (const { id: _i, runId: _r, originItem: _o, closedByRun: _c, ...rest } of rs.items(runId, ['missingLocal', 'missingChannel', 'carriedOver', 'resolved', 'matched', 'amountMismatch'])) out.push(rest);
  } finally {
    await rs.close();
  }
  return out;
}

describe.each(PAIRS)('pay db copy $name', ({ from, to }) => {
  let a: FreshDb;
  let b: FreshDb;
  let source: Store;
  let target: Store;

  beforeEach(async () => {
    a = await from.fresh();
    b = await to.fresh();
    source = await openStore(resolveDbTarget(a.db), { clock });
    target = await openStore(resolveDbTarget(b.db), { clock });
  });
  afterEach(async () => {
    await source.close();
    await target.close();
    await a.cleanup();
    await b.cleanup();
  });

  it('copies every table, keeps runs with their items, and copies nothing twice', async () => {
    const paid = (orderNo: string, at: string) => ({ orderNo, kind: 'collect' as const, channel: 'mock', amountMinor: 1000, currency: 'CNY', status: 'succeeded' as const, paidAt: at, createdAt: at });
    await source.createOrder(paid('A1', '2026-11-22T01:00:00.000Z'));
    await source.createOrder(paid('Z1', '2026-11-22T23:50:00.000Z'));
    await source.createRefund({ refundNo: 'R1', orderNo: 'A1', amountMinor: 300 });
    await source.recordCallback({ channel: 'mock', dedupKey: 'evt_1', eventType: 'payment.succeeded', bodySha256: 'ab', outcome: 'paid' });
    const rs = await source.reconciliation();
    const bill = (path: string, sha: string, date: string, rows: BillRow[]) =>
      reconcile(rs, { channel: 'mock', date, timeZone: 'UTC', rows: stream(rows), bill: { path, sha256: sha, bytes: 1, format: 'mock', source: 'file' }, clock });
    const row = (orderNo: string, amountMinor: number, time: string): BillRow => ({ line: 0, orderNo, kind: 'payment', amountMinor, feeMinor: 0, currency: 'CNY', time });
    const day = await bill('/d1.csv', 'sha1', '2026-11-22', [row('A1', 1000, '2026-11-22T01:00:01.000Z'), row('L1', 500, '2026-11-22T02:00:00.000Z')]);
    const next = await bill('/d2.csv', 'sha2', '2026-11-23', [row('Z1', 1000, '2026-11-23T00:01:00.000Z')]);
    await rs.close();
    expect(next.run.resolved).toBe(1);

    const admin = [await source.admin(), await target.admin()];
    try {
      const copied = await copyBook(admin[0], admin[1]);
      const counts = await countRows(admin[0]);
      expect(copied).toEqual(counts);
      expect(await countRows(admin[1])).toEqual(counts);
      expect(await copyBook(admin[0], admin[1])).toEqual({ orders: 0, refunds: 0, callbacks: 0, events: 0, reconcile_runs: 0, reconcile_items: 0 });
    } finally {
      for (const x of admin) await x.close();
    }

    expect(await target.getRefund('R1')).toMatchObject({ orderNo: 'A1', amountMinor: 300 });
    expect(await target.getCallback('mock', 'evt_1')).toMatchObject({ outcome: 'paid' });
    expect((await target.listEvents({ limit: 10_000 })).map((e) => e.type)).toEqual((await source.listEvents({ limit: 10_000 })).map((e) => e.type));
    const trs = await target.reconciliation();
    try {
      const runs = await trs.listRuns();
      expect(runs.map((r) => [r.date, r.missingLocal, r.carriedOver, r.resolved])).toEqual([
        ['2026-11-23', 0, 0, 1],
        ['2026-11-22', 1, 1, 0],
      ]);
      // The carried-over item is closed by the next day's run, whose resolved item points back at it.
      const [resolved] = await (async () => {
        const out: ItemRecord[] = [];
        for await (const i of trs.items(runs[0].id, ['resolved'])) out.push(i);
        return out;
      })();
      const carried: ItemRecord[] = [];
      for await (const i of trs.items(runs[1].id, ['carriedOver'])) carried.push(i);
      expect(resolved.originItem).toBe(carried[0].id);
      expect(carried[0].closedByRun).toBe(runs[0].id);
      expect(await itemsOf(target, runs[1].id)).toEqual(await itemsOf(source, day.run.id));
    } finally {
      await trs.close();
    }
  });
});
