/**
 * The reconciliation engine over the ReconcileStore contract, run against every backend: every
 * discrepancy class, carry-over and replacement must come out the same on SQLite and PostgreSQL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BillRow } from '../../src/channel/contract.js';
import type { ItemClass } from '../../src/reconcile/classify.js';
import { reconcile, type ReconcileInput } from '../../src/reconcile/engine.js';
import type { ItemRecord, ReconcileStore } from '../../src/store/reconcile-store.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { BACKENDS, type FreshDb } from '../helpers/backends.js';

describe.each(BACKENDS)('reconcile engine on $name', (backend) => {
  let fresh: FreshDb;
  let store: Store;
  let rs: ReconcileStore;
  const D = '2026-11-22';
  const D1 = '2026-11-23';
  const at = (day: string, hms: string) => `${day}T${hms}.000Z`;

  beforeEach(async () => {
    fresh = await backend.fresh();
    store = await openStore(resolveDbTarget(fresh.db), { clock: () => Date.parse('2026-11-24T01:00:00Z') });
    rs = await store.reconciliation();
  });
  afterEach(async () => {
    await rs.close();
    await store.close();
    await fresh.cleanup();
  });

  async function paid(orderNo: string, amountMinor: number, paidAt: string, over: Record<string, unknown> = {}) {
    await store.createOrder({ orderNo, kind: 'collect', channel: 'mock', amountMinor, currency: 'CNY', status: 'succeeded', paidAt, createdAt: paidAt, ...over });
  }

  async function refunded(orderNo: string, refundNo: string, amountMinor: number, refundedAt: string) {
    await store.createRefund({ refundNo, orderNo, amountMinor });
    await store.updateRefund(refundNo, { status: 'succeeded', refundedAt }, { source: 'test' });
  }

  const pay = (orderNo: string | undefined, amountMinor: number, time: string, over: Partial<BillRow> = {}): BillRow => ({
    line: 0,
    orderNo,
    channelTradeNo: orderNo ? `T${orderNo}` : undefined,
    kind: 'payment',
    amountMinor,
    feeMinor: Math.floor(amountMinor / 100),
    currency: 'CNY',
    time,
    status: 'succeeded',
    ...over,
  });

  async function* stream(rows: BillRow[]): AsyncGenerator<BillRow> {
    let line = 1;
    for (const r of rows) yield { ...r, line: r.line || ++line };
  }

  function run(date: string, rows: BillRow[], sha = `sha-${date}`, over: Partial<ReconcileInput> = {}) {
    return reconcile(rs, {
      channel: 'mock',
      date,
      timeZone: 'UTC',
      rows: stream(rows),
      bill: { path: `/bills/${date}.csv`, sha256: sha, bytes: 100, format: 'mock', source: 'file' },
      ...over,
    });
  }

  const ALL: readonly ItemClass[] = ['missingLocal', 'missingChannel', 'amountMismatch', 'statusMismatch', 'currencyMismatch', 'duplicate', 'carriedOver', 'resolved', 'matched'];
  async function items(runId: number, classes: readonly ItemClass[]): Promise<ItemRecord[]> {
    const out: ItemRecord[] = [];
    for await (const i of rs.items(runId, classes)) out.push(i);
    return out;
  }
  const itemsOf = async (runId: number, classes: readonly ItemClass[] = ALL) => (await items(runId, classes)).map((i) => [i.class, i.refundNo ?? i.orderNo]);

  describe('runs', () => {
    it('pairs the bill with the books as they are at the run: a commit by another connection while the bill is read is seen', async () => {
      await paid('P1', 1000, at(D, '10:00:00'));
      const filler = Array.from({ length: 5000 }, (_, i) => pay(`N${i}`, 100, at(D, '11:00:00')));
      // The first batch (4,096 rows, P1 among them) is staged, and on SQLite paired, before the change.
      async function* changing(): AsyncGenerator<BillRow> {
        let n = 0;
        for await (const r of stream([pay('P1', 1000, at(D, '10:00:00')), ...filler])) {
          if (++n === 4500) await backend.sql(fresh.db, "UPDATE orders SET amount_minor = 999 WHERE order_no = 'P1'");
          yield r;
        }
      }
      const out = await run(D, [], 'sha-change', { rows: changing() });
      expect(out.run).toMatchObject({ matched: 0, amountMismatch: 1, missingLocal: 5000, missingChannel: 0 });
      expect(out.run.totals[0].books).toMatchObject({ count: 1, grossMinor: 999 });
      expect(await itemsOf(out.run.id, ['amountMismatch'])).toEqual([['amountMismatch', 'P1']]);
    });

    it('counts a key the bill repeats once, however far apart the rows are', async () => {
      await paid('P1', 1000, at(D, '10:00:00'));
      const filler = Array.from({ length: 9000 }, (_, i) => pay(`N${i}`, 100, at(D, '11:00:00')));
      const out = await run(D, [pay('P1', 1000, at(D, '10:00:00')), ...filler, pay('P1', 1000, at(D, '10:00:00'))]);
      expect(out.run).toMatchObject({ matched: 1, duplicate: 1, missingLocal: 9000 });
    });

    it('classifies every kind of disagreement and counts plain matches in SQL', async () => {
      await paid('A1', 1000, at(D, '01:00:00'));
      await paid('A2', 2000, at(D, '02:00:00'));
      await refunded('A2', 'R1', 500, at(D, '03:00:00'));
      await paid('C1', 3000, at(D, '04:00:00'));
      await paid('M1', 4000, at(D, '05:00:00'));
      await paid('U1', 100, at(D, '05:30:00'), { currency: 'USD' });
      await store.createOrder({ orderNo: 'S1', kind: 'collect', channel: 'mock', amountMinor: 5000, currency: 'CNY', status: 'pending' });
      await store.createOrder({ orderNo: 'T1', kind: 'payout', channel: 'mock', amountMinor: 9000, currency: 'CNY', status: 'succeeded', paidAt: at(D, '06:00:00') });
      await paid('X1', 7000, at(D, '07:00:00'), { channel: 'other' });
      const { run: r, outstanding } = await run(D, [
        pay('A1', 1000, at(D, '01:00:01')),
        pay('A2', 2000, at(D, '02:00:01')),
        { ...pay('A2', -500, at(D, '03:00:01')), kind: 'refund', refundNo: 'R1', feeMinor: -5 },
        pay('M1', 4001, at(D, '05:00:01')),
        pay('U1', 100, at(D, '05:30:01')),
        pay('S1', 5000, at(D, '06:00:01')),
        { ...pay('T1', -9000, at(D, '06:00:02')), kind: 'payout', feeMinor: 0 },
        pay('L1', 6000, at(D, '08:00:00')),
        pay('A1', 1000, at(D, '01:00:01')),
        pay('X1', 7000, at(D, '07:00:01')),
        { ...pay(undefined, -300, at(D, '23:00:00')), kind: 'fee', feeMinor: 0, channelTradeNo: 'FEE1' },
      ]);
      expect(r).toMatchObject({ matched: 4, missingLocal: 2, missingChannel: 1, amountMismatch: 1, statusMismatch: 1, currencyMismatch: 1, duplicate: 1, carriedOver: 0, resolved: 0, billRows: 11 });
      expect(await itemsOf(r.id)).toEqual([
        ['amountMismatch', 'M1'],
        ['currencyMismatch', 'U1'],
        ['statusMismatch', 'S1'],
        ['missingLocal', 'L1'],
        ['duplicate', 'A1'],
        ['missingLocal', 'X1'],
        ['missingChannel', 'C1'],
      ]);
      const x1 = (await items(r.id, ['missingLocal'])).find((i) => i.orderNo === 'X1')!;
      expect(x1.note).toMatch(/under channel other/);
      const cny = r.totals.find((t) => t.currency === 'CNY')!;
      // Bill: every row but the failed ones, duplicates included (the channel did bill them).
      const billed = [1000, 2000, -500, 4001, 100, 5000, -9000, 6000, 1000, 7000, -300];
      const fees = [10, 20, -5, 40, 1, 50, 0, 60, 10, 70, 0];
      expect(cny.bill).toEqual({
        count: 11,
        grossMinor: 26101,
        refundsMinor: 500,
        payoutsMinor: 9000,
        feesMinor: 300 + fees.reduce((a, b) => a + b, 0),
        adjustmentsMinor: 0,
        netMinor: billed.reduce((a, b) => a + b, 0) - fees.reduce((a, b) => a + b, 0),
      });
      // Books: settled entries of the day on this channel.
      expect(cny.books).toMatchObject({ count: 6, grossMinor: 1000 + 2000 + 3000 + 4000, refundsMinor: 500, payoutsMinor: 9000, netMinor: 10000 - 500 - 9000 });
      expect(outstanding).toBe(4); // missingLocal x2, missingChannel, statusMismatch stay open
      const ev = await store.listEvents({ type: 'reconcile.run' });
      expect(ev[0].data).toMatchObject({ runId: r.id, date: D, matched: 4 });
    });

    it('falls back to the channel trade number, and says so when our numbers differ', async () => {
      await paid('A1', 1000, at(D, '01:00:00'), { channelTradeNo: 'CH1' });
      await paid('A2', 2000, at(D, '02:00:00'), { channelTradeNo: 'CH2' });
      const { run: r } = await run(D, [pay(undefined, 1000, at(D, '01:00:01'), { channelTradeNo: 'CH1' }), pay('WRONG2', 2000, at(D, '02:00:01'), { channelTradeNo: 'CH2' })]);
      expect(r).toMatchObject({ matched: 2, missingChannel: 0, missingLocal: 0 });
      // The match on another order number is kept, with a note, for the audit trail.
      expect((await items(r.id, ['matched'])).map((i) => [i.orderNo, i.note])).toEqual([['WRONG2', 'matched by the channel\'s number CH2: the bill says WRONG2, the books A2']]);
    });

    it('treats a bill row marked failed as money that did not move', async () => {
      await store.createOrder({ orderNo: 'F1', kind: 'collect', channel: 'mock', amountMinor: 1000, currency: 'CNY', status: 'failed' });
      await paid('A1', 1000, at(D, '01:00:00'));
      const { run: r } = await run(D, [pay('F1', 1000, at(D, '01:00:00'), { status: 'FAILED' }), pay('A1', 1000, at(D, '01:00:00'), { status: 'REVOKED' })]);
      expect(r).toMatchObject({ matched: 1, statusMismatch: 1 });
      expect(r.totals[0].bill.count).toBe(0);
    });

    it('carries an entry settled before midnight over, and resolves it when the next bill lists it', async () => {
      await paid('Z1', 777, at(D, '23:50:00'));
      const day = await run(D, []);
      expect(day.run).toMatchObject({ carriedOver: 1, missingChannel: 0 });
      const next = await run(D1, [pay('Z1', 777, at(D1, '00:02:00'))]);
      expect(next.run).toMatchObject({ matched: 1, resolved: 1, carriedOver: 0, missingChannel: 0 });
      expect((await items(next.run.id, ['resolved']))[0]).toMatchObject({ orderNo: 'Z1', carriedFrom: D, bill: { amountMinor: 777 }, local: { amountMinor: 777 } });
      expect(next.outstanding).toBe(0);
      // Reconciling the first day again does not call it missing: the next day's run billed it.
      const again = await run(D, [], 'sha-other');
      expect(again.run).toMatchObject({ carriedOver: 0, missingChannel: 0 });
    });

    it('turns a carried-over entry the next bill does not list into a discrepancy', async () => {
      await paid('Z1', 777, at(D, '23:50:00'));
      await run(D, []);
      const next = await run(D1, []);
      expect(next.run).toMatchObject({ missingChannel: 1, carriedOver: 0 });
      expect((await items(next.run.id, ['missingChannel']))[0]).toMatchObject({ orderNo: 'Z1', carriedFrom: D, note: expect.stringMatching(/still not billed/) });
      // A narrower window makes it a discrepancy on its own day.
      const narrow = await run(D, [], 'sha-narrow', { carryWindowMs: 5 * 60_000 });
      expect(narrow.run).toMatchObject({ missingChannel: 1, carriedOver: 0 });
    });

    it('resolves bill-side items once the books catch up', async () => {
      await store.createOrder({ orderNo: 'S1', kind: 'collect', channel: 'mock', amountMinor: 5000, currency: 'CNY', status: 'pending' });
      const day = await run(D, [pay('L1', 6000, at(D, '08:00:00')), pay('S1', 5000, at(D, '09:00:00'))]);
      expect(day.run).toMatchObject({ missingLocal: 1, statusMismatch: 1 });
      // The books are fixed the next day: L1 imported as paid on D, S1 queried and found paid now.
      await paid('L1', 6000, at(D, '08:00:00'));
      await store.updateOrder('S1', { status: 'succeeded', paidAt: at(D1, '10:00:00') }, { source: 'test' });
      const next = await run(D1, []);
      expect(next.run).toMatchObject({ resolved: 2, missingChannel: 0 });
      expect(await itemsOf(next.run.id, ['resolved'])).toEqual([
        ['resolved', 'L1'],
        ['resolved', 'S1'],
      ]);
      expect(next.outstanding).toBe(0);
    });

    it('keeps a match made on another day, so that day is not reported missing', async () => {
      await paid('E1', 1000, at(D, '20:00:00'));
      const later = await run(D1, [pay('E1', 1000, at(D1, '09:00:00'))]);
      expect(later.run.matched).toBe(1);
      expect(await itemsOf(later.run.id, ['matched'])).toEqual([['matched', 'E1']]);
      const day = await run(D, []);
      expect(day.run).toMatchObject({ missingChannel: 0, carriedOver: 0 });
    });

    it('replaces the run of the same file and reopens what it had closed; another file supersedes', async () => {
      await paid('Z1', 777, at(D, '23:50:00'));
      const day = await run(D, []);
      const first = await run(D1, [pay('Z1', 777, at(D1, '00:01:00'))], 'sha-next');
      const second = await run(D1, [pay('Z1', 777, at(D1, '00:01:00'))], 'sha-next');
      expect(second.replaced).toBe(first.run.id);
      expect(await rs.getRun(first.run.id)).toBeUndefined();
      expect(second.run).toMatchObject({ resolved: 1, matched: 1 });
      expect(await rs.listRuns()).toHaveLength(2);
      const other = await run(D1, [], 'sha-next-fixed');
      expect(other.superseded).toEqual([second.run.id]);
      expect((await rs.getRun(second.run.id))!.supersededBy).toBe(other.run.id);
      // Superseding reopened the carried item; the new file does not list it: now a discrepancy.
      expect(other.run).toMatchObject({ missingChannel: 1, resolved: 0 });
      expect((await rs.listRuns({ channel: 'mock' })).map((r) => r.id)).toEqual([other.run.id, second.run.id, day.run.id]);
    });

    it('saves nothing when the bill turns out bad halfway', async () => {
      await paid('A1', 1000, at(D, '01:00:00'));
      async function* broken(): AsyncGenerator<BillRow> {
        yield pay('A1', 1000, at(D, '01:00:01'), { line: 5 });
        throw new TypeError('unexpected token');
      }
      await expect(run(D, [], 'x', { rows: broken() })).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/cannot read \/bills\/2026-11-22.csv as a mock bill: unexpected token/) });
      await expect(run(D, [pay('A1', 1000, at(D, '01:00:01'), { currency: 'cny', line: 9 })])).rejects.toThrow(/line 9: currency "cny"/);
      await expect(run(D, [pay('A1', 10.5, at(D, '01:00:01'), { line: 4 })])).rejects.toThrow(/line 4: amount is not an integer/);
      expect(await rs.listRuns()).toEqual([]);
      // The stage was dropped: the next run stages afresh and sees only its own rows.
      expect((await run(D, [pay('A1', 1000, at(D, '01:00:01'))])).run).toMatchObject({ matched: 1, billRows: 1 });
    });

    it('uses the business day of the time zone', async () => {
      // 2026-11-22 in Asia/Shanghai is 2026-11-21T16:00Z .. 2026-11-22T16:00Z.
      await paid('B1', 1000, '2026-11-21T16:30:00.000Z');
      await paid('B2', 1000, '2026-11-22T16:30:00.000Z');
      const { run: r } = await run(D, [], 'sha', { timeZone: 'Asia/Shanghai' });
      expect(await itemsOf(r.id, ['missingChannel'])).toEqual([['missingChannel', 'B1']]);
    });
  });
});
