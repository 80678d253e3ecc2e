/**
 * The end-to-end reconciliation scenario of issue 6, reusable for any channel: books imported
 * with `pay orders import`, a bill crafted with the channel's own bill writer (the provider's
 * real format) holding one order missing in the books, one missing at the channel, one amount
 * off by 0.01, one status disagreement and one duplicate row; `pay reconcile --json` must name
 * exactly those and exit 1; once the books are fixed and the channel reissues its bill, exit 0.
 * Also: rerunning the same file replaces the run, `history` and `show` read it back, bad input
 * exits 2 and saves nothing, and an order settled just before midnight carries over to the next
 * day's run, which reports it resolved.
 *
 *   reconcileE2E({ channel: 'alipay', billName: 'bill.csv.zip' });
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillRow, ChannelModule, WriteBillOptions } from '../../src/channel/contract.js';
import { formatAmount } from '../../src/core/money.js';
import { wallTimeToUtc } from '../../src/core/time.js';
import { BACKENDS, type Backend, type FreshDb } from './backends.js';
import { runPay, runPayJson, tempDir } from './cli.js';

/** Options of {@link reconcileE2E}. */
export interface ReconcileE2EOptions {
  /** Channel id: the books' channel and `--channel`. */
  channel: string;
  /** Test title (default `pay reconcile: <channel>`). */
  title?: string;
  /** Currency of every row (default CNY). */
  currency?: string;
  /** Business day (default 2026-11-22). */
  date?: string;
  /** Business-day zone (default: the channel module's, else UTC). */
  timeZone?: string;
  /** Writes a bill; default: the channel module's `bill.write`. */
  writeBill?: (path: string, rows: BillRow[], options: WriteBillOptions) => Promise<void>;
  /** Bill file name (some writers pick their variant from the extension). */
  billName?: string;
  /** Writer variant. */
  variant?: string;
  /** Merchant id written into the bill and passed as --merchant. */
  merchantId?: string;
  /** Extra arguments for `pay reconcile` (e.g. `--mapping`), given the test directory. */
  args?: (dir: string) => string[];
  /** Channel trade number of an order (default `<CH>T<n>`). */
  tradeNo?: (orderNo: string, n: number) => string;
  /** Channel number of a refund as it appears in the bill's trade-number column (default the order's trade number). */
  refundTradeNo?: (refundNo: string, orderTradeNo: string) => string;
  /** Fee charged on a payment (default 0.6%, rounded down). */
  fee?: (amountMinor: number) => number;
  /** Include a partial refund (default true). */
  refunds?: boolean;
  /** Text bills only: corrupt an amount in the file and expect exit 2 (default: when the file is plain text). */
  corruptAmount?: boolean;
  /**
   * Skip the steps that do not depend on the file format (rerun, history and show, carry-over):
   * for a second variant of a channel's format whose other suite runs them, to keep tests fast.
   */
  lite?: boolean;
  /** Extra environment for `pay reconcile` (e.g. PAY_READ_WORKER=1: the bill read on a worker thread). */
  env?: Record<string, string>;
  /** Order-store backend (default SQLite; PostgreSQL runs the same expectations through the binary). */
  backend?: Backend;
}

interface Entry {
  orderNo: string;
  amountMinor: number;
  /** Local wall time in the business zone, HH:mm:ss. */
  at: string;
  status?: string;
}

/** Defines the scenario as a vitest suite. */
export function reconcileE2E(options: ReconcileE2EOptions): void {
  const channel = options.channel;
  const currency = options.currency ?? 'CNY';
  const date = options.date ?? '2026-11-22';
  const nextDate = new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const prefix = channel.replace(/[^a-z0-9]/gi, '').slice(0, 4).toUpperCase();
  const no = (tag: string) => `${prefix}E2E${tag}`;
  const tradeNo = options.tradeNo ?? ((orderNo: string) => `${prefix}T${orderNo.slice(-6)}`);
  const fee = options.fee ?? ((a: number) => Math.floor((a * 6) / 1000));
  const withRefunds = options.refunds ?? true;

  // The books and the channel agree on these...
  const matched: Entry[] = [
    { orderNo: no('A00001'), amountMinor: 1234, at: '09:00:00' },
    { orderNo: no('A00002'), amountMinor: 2000, at: '10:30:00' },
    { orderNo: no('A00003'), amountMinor: 3550, at: '12:00:00' },
    { orderNo: no('A00004'), amountMinor: 99900, at: '15:45:10' },
  ];
  // ...and disagree on these.
  const missingLocal: Entry = { orderNo: no('L00001'), amountMinor: 4500, at: '11:11:11' };
  const missingChannel: Entry = { orderNo: no('C00001'), amountMinor: 5600, at: '13:00:00' };
  const amountOff: Entry = { orderNo: no('M00001'), amountMinor: 4321, at: '14:00:00' };
  const statusOff: Entry = { orderNo: no('S00001'), amountMinor: 6789, at: '16:20:00', status: 'pending' };
  // Settled in the books just before midnight; the channel bills it the next day.
  const late: Entry = { orderNo: no('Z00001'), amountMinor: 777, at: '23:50:00' };
  const refund = { refundNo: no('R00001'), orderNo: matched[1].orderNo, amountMinor: 500, at: '18:00:00' };

  let zone = options.timeZone ?? 'UTC';
  let write = options.writeBill;
  let tmp: ReturnType<typeof tempDir>;
  let db: string;
  const billPath = (name: string) => join(tmp.dir, `${name}-${options.billName ?? 'bill.csv'}`);
  const utc = (day: string, wall: string) => new Date(wallTimeToUtc(`${day} ${wall}`, zone)).toISOString();
  const dec = (minor: number) => formatAmount(minor, currency);
  const extra = () => [...(options.args?.(tmp.dir) ?? []), ...(options.merchantId ? ['--merchant', options.merchantId] : [])];
  const reconcile = (path: string, day = date) => runPayJson(['--db', db, 'reconcile', '--channel', channel, '--date', day, '--bill', path, ...extra()], { env: options.env });
  // Read straight from the database: cheaper than spawning `history` after every step.
  const backend = options.backend ?? BACKENDS[0];
  let fresh: FreshDb | undefined;
  const runCount = async () => {
    const [r] = await backend.sql(db, `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM reconcile_runs WHERE channel = '${channel}'`);
    return r.n as number;
  };
  const full = !options.lite;

  const bookLine = (e: Entry, status = e.status ?? 'succeeded', day = date) =>
    [e.orderNo, channel, 'payment', dec(e.amountMinor), currency, status, utc(day, subtractMinutes(e.at, 5)), status === 'succeeded' ? utc(day, e.at) : '', tradeNo(e.orderNo, 0), ''].join(',');
  const header = 'order_no,channel,kind,amount,currency,status,created_at,paid_at,channel_trade_no,refund_no';

  const payment = (e: Entry, day = date, delta = 0): BillRow => ({
    line: 0,
    orderNo: e.orderNo,
    channelTradeNo: tradeNo(e.orderNo, 0),
    kind: 'payment',
    amountMinor: e.amountMinor + delta,
    feeMinor: fee(e.amountMinor + delta),
    currency,
    time: utc(day, e.at),
    status: 'succeeded',
  });
  const refundRow = (): BillRow => {
    const orderTrade = tradeNo(refund.orderNo, 0);
    return {
      line: 0,
      orderNo: refund.orderNo,
      channelTradeNo: options.refundTradeNo ? options.refundTradeNo(refund.refundNo, orderTrade) : orderTrade,
      kind: 'refund',
      refundNo: refund.refundNo,
      amountMinor: -refund.amountMinor,
      feeMinor: 0,
      currency,
      time: utc(date, refund.at),
      status: 'succeeded',
    };
  };
  const writeOptions = (day = date): WriteBillOptions => ({ date: day, ...(options.merchantId ? { merchantId: options.merchantId } : {}), ...(options.variant ? { variant: options.variant } : {}) });
  const writeBill = async (name: string, rows: BillRow[], day = date) => {
    const path = billPath(name);
    await write!(path, rows, writeOptions(day));
    return path;
  };

  describe(options.title ?? `pay reconcile: ${channel}`, () => {
    let firstRun: number;

    beforeAll(async () => {
      tmp = tempDir('pay-reconcile-e2e-');
      fresh = await backend.fresh();
      db = fresh.db;
      if (!write || !options.timeZone) {
        // The channel module gives the writer and the business-day zone.
        const { loadChannelModule } = await import('../../src/channel/registry.js');
        const mod: ChannelModule = await loadChannelModule(channel);
        zone = options.timeZone ?? mod.description.timeZone;
        if (!write) {
          if (!mod.bill?.write) throw new Error(`channel ${channel} has no bill writer`);
          write = mod.bill.write.bind(mod.bill);
        }
      }
    });
    afterAll(async () => {
      await fresh?.cleanup();
      tmp?.cleanup();
    });

    it('imports the books', async () => {
      const lines = [header, ...matched.map((e) => bookLine(e)), bookLine(missingChannel), bookLine(amountOff), bookLine(statusOff), bookLine(late)];
      if (withRefunds) lines.push([refund.orderNo, channel, 'refund', dec(refund.amountMinor), currency, 'succeeded', utc(date, subtractMinutes(refund.at, 1)), utc(date, refund.at), '', refund.refundNo].join(','));
      writeFileSync(join(tmp.dir, 'books.csv'), `${lines.join('\n')}\n`);
      const r = await runPayJson(['--db', db, 'orders', 'import', join(tmp.dir, 'books.csv')]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.json).toMatchObject({ ordersCreated: 8, refundsCreated: withRefunds ? 1 : 0, rejected: 0 });
    });

    it('names exactly the planted discrepancies and exits 1', async () => {
      const rows = [
        ...matched.map((e) => payment(e)),
        payment(missingLocal),
        payment(amountOff, date, 1),
        payment(statusOff),
        payment(matched[0]),
        ...(withRefunds ? [refundRow()] : []),
      ];
      const path = await writeBill('bill', rows);
      const r = await reconcile(path);
      expect(r.code, r.stderr).toBe(1);
      expect(r.json.channel).toBe(channel);
      expect(r.json.date).toBe(date);
      expect(r.json.summary).toEqual({
        matched: matched.length + (withRefunds ? 1 : 0),
        missingLocal: 1,
        missingChannel: 1,
        amountMismatch: 1,
        statusMismatch: 1,
        currencyMismatch: 0,
        duplicate: 1,
      });
      const byClass = Object.fromEntries((r.json.items as { class: string; orderNo: string }[]).map((i) => [i.class, i.orderNo]));
      expect(byClass).toEqual({
        missingLocal: missingLocal.orderNo,
        missingChannel: missingChannel.orderNo,
        amountMismatch: amountOff.orderNo,
        statusMismatch: statusOff.orderNo,
        duplicate: matched[0].orderNo,
      });
      const item = (c: string) => (r.json.items as any[]).find((i) => i.class === c);
      expect(item('amountMismatch')).toMatchObject({ local: { amountMinor: amountOff.amountMinor }, channel: { amountMinor: amountOff.amountMinor + 1 } });
      expect(item('missingLocal')).toMatchObject({ local: null, channel: { amountMinor: missingLocal.amountMinor, currency } });
      expect(item('missingChannel')).toMatchObject({ channel: null, local: { amountMinor: missingChannel.amountMinor, status: 'succeeded' } });
      expect(item('statusMismatch')).toMatchObject({ local: { status: 'pending' } });
      // The order settled just before midnight is a timing difference, not a discrepancy.
      expect((r.json.carriedOver as any[]).map((i) => i.orderNo)).toEqual([late.orderNo]);
      // Totals per currency on both sides.
      const gross = rows.filter((x) => x.kind === 'payment').reduce((s, x) => s + x.amountMinor, 0);
      const t = (r.json.totals as any[]).find((x) => x.currency === currency);
      expect(t.bill).toMatchObject({ grossMinor: gross, refundsMinor: withRefunds ? refund.amountMinor : 0 });
      expect(t.books).toMatchObject({
        grossMinor: [...matched, missingChannel, amountOff, late].reduce((s, e) => s + e.amountMinor, 0),
        refundsMinor: withRefunds ? refund.amountMinor : 0,
      });
      expect(await runCount()).toBe(1);
      firstRun = r.json.runId;
    });

    it.skipIf(!full)('replaces the run when the same file is reconciled again', async () => {
      const r = await reconcile(billPath('bill'));
      expect(r.code).toBe(1);
      expect(r.json.replacedRun).toBe(firstRun);
      expect(r.json.runId).not.toBe(firstRun);
      expect(await runCount()).toBe(1);
      firstRun = r.json.runId;
    });

    it.skipIf(!full)('reads saved runs back with history and show', async () => {
      const h = await runPayJson(['--db', db, 'reconcile', 'history']);
      expect(h.code).toBe(0);
      expect(h.json.runs[0]).toMatchObject({ runId: firstRun, channel, date, reconciled: false, summary: { duplicate: 1 } });
      const s = await runPayJson(['--db', db, 'reconcile', 'show', String(firstRun)]);
      expect(s.code).toBe(0);
      expect(s.json.summary.amountMismatch).toBe(1);
      expect(s.json.items).toHaveLength(5);
      const csv = await runPay(['--db', db, 'reconcile', 'show', String(firstRun), '--format', 'csv']);
      expect(csv.code).toBe(0);
      const lines = csv.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^run_id,class,kind,order_no/);
      expect(lines.filter((l) => l.includes(amountOff.orderNo))[0]).toContain('amountMismatch');
    });

    it('rejects bad input with exit 2 and saves nothing', async () => {
      const before = await runCount();
      const empty = join(tmp.dir, `empty-${options.billName ?? 'bill.csv'}`);
      writeFileSync(empty, '');
      const e = await reconcile(empty);
      expect(e.code, e.stdout).toBe(2);
      expect(e.json.error.code).toBe('INVALID_REQUEST');

      // A bill for the next day, reconciled as this day's.
      const other = await writeBill('other-day', [payment(matched[0], nextDate)], nextDate);
      const o = await reconcile(other);
      expect(o.code, o.stdout).toBe(2);

      // Cut short: the last third of the file is missing.
      const full = readFileSync(billPath('bill'));
      const cut = join(tmp.dir, `cut-${options.billName ?? 'bill.csv'}`);
      writeFileSync(cut, full.subarray(0, Math.floor((full.length * 2) / 3)));
      const c = await reconcile(cut);
      expect(c.code, c.stdout).toBe(2);

      const text = !isCompressed(full);
      if (options.corruptAmount ?? text) {
        for (const bad of ['1,000.00', 'abc']) {
          // Major units in most formats; minor units in some (Stripe's JSON, PayPal's STL).
          let needle = Buffer.from(dec(amountOff.amountMinor + 1));
          if (full.indexOf(needle) === -1) needle = Buffer.from(String(amountOff.amountMinor + 1));
          const at = full.indexOf(needle);
          expect(at, 'the amount to corrupt is in the file').toBeGreaterThan(-1);
          const corrupt = join(tmp.dir, `corrupt-${options.billName ?? 'bill.csv'}`);
          writeFileSync(corrupt, Buffer.concat([full.subarray(0, at), Buffer.from(bad), full.subarray(at + needle.length)]));
          const k = await reconcile(corrupt);
          expect(k.code, `${bad}: ${k.stdout}`).toBe(2);
        }
      }
      expect(await runCount()).toBe(before);
    });

    it('exits 0 once the books are fixed and the channel reissues its bill', async () => {
      // The books: the missing order imported, the pending one now paid (a forward move).
      writeFileSync(join(tmp.dir, 'fix.csv'), `${[header, bookLine(missingLocal, 'succeeded'), bookLine(statusOff, 'succeeded')].join('\n')}\n`);
      const imp = await runPayJson(['--db', db, 'orders', 'import', join(tmp.dir, 'fix.csv')]);
      expect(imp.code, imp.stdout).toBe(0);
      expect(imp.json).toMatchObject({ ordersCreated: 1, updated: 1 });
      const again = await reconcile(billPath('bill'));
      expect(again.code).toBe(1);
      expect(again.json.summary).toMatchObject({ missingLocal: 0, statusMismatch: 0, amountMismatch: 1, missingChannel: 1, duplicate: 1 });

      // The channel's corrected statement: no duplicate, the right amount, the missing order.
      const rows = [...matched, missingLocal, amountOff, statusOff, missingChannel].map((e) => payment(e));
      if (withRefunds) rows.push(refundRow());
      const fixed = await writeBill('fixed', rows);
      const r = await reconcile(fixed);
      expect(r.code, JSON.stringify(r.json.items)).toBe(0);
      expect(r.json.summary).toEqual({ matched: rows.length, missingLocal: 0, missingChannel: 0, amountMismatch: 0, statusMismatch: 0, currencyMismatch: 0, duplicate: 0 });
      expect(r.json.reconciled).toBe(true);
      expect(r.json.supersededRuns).toEqual([again.json.runId]);
    });

    it.skipIf(!full)("resolves the carried-over order in the next day's run", async () => {
      const next = await writeBill('next-day', [payment(late, nextDate, 0)].map((row) => ({ ...row, time: utc(nextDate, '00:04:00') })), nextDate);
      const r = await reconcile(next, nextDate);
      expect(r.code, JSON.stringify(r.json)).toBe(0);
      expect(r.json.summary.matched).toBe(1);
      expect((r.json.resolved as any[]).map((i) => [i.orderNo, i.carriedFrom])).toEqual([[late.orderNo, date]]);
    });
  });
}

function subtractMinutes(wall: string, minutes: number): string {
  const [h, m, s] = wall.split(':').map(Number);
  const total = Math.max(0, h * 60 + m - minutes);
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

function isCompressed(b: Buffer): boolean {
  return (b[0] === 0x50 && b[1] === 0x4b) || (b[0] === 0x1f && b[1] === 0x8b);
}
