import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchedBillRows, BillRow, ChannelDeps } from '../../../src/channel/contract.js';
import { PayError } from '../../../src/core/errors.js';
import { expectChunkedLikeOneByOne } from '../../../test/helpers/bills.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { MockAdapter, feeFor } from '../adapter.js';
import { readMockBill, writeMockBillRows } from '../bill.js';
import { buildCallback, mockCallbacks } from '../callback.js';
import { validateMockConfig } from '../config.js';
import mock from '../index.js';
import { signHeader, verifySignature } from '../signature.js';

let tmp: ReturnType<typeof tempDir>;
let now: number;
let records: unknown[];
beforeEach(() => {
  tmp = tempDir();
  now = Date.parse('2026-11-23T10:00:00Z');
  records = [];
});
afterEach(() => tmp.cleanup());

const deps = (): ChannelDeps => ({
  stateDir: tmp.dir,
  clock: () => now,
  record: (r) => records.push(r),
  http: () => Promise.reject(new Error('mock needs no HTTP')),
  env: {},
  debug: () => {},
});
const adapter = (settings: Record<string, unknown> = {}) => MockAdapter.create(validateMockConfig(settings), deps());
const ref = (orderNo: string) => ({ orderNo, amountMinor: 1234, currency: 'CNY', createdAt: '' });
async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err) => err);
  return e instanceof PayError ? e.code : String(e);
}

describe('mock channel', () => {
  it('progresses pending -> succeeded after settleAfterMs, across adapter instances (persisted books)', async () => {
    const a = adapter({ settleAfterMs: 1000 });
    const r = await a.collect({ orderNo: 'P1000000001', amountMinor: 1234, currency: 'CNY', subject: 's' });
    expect(r.status).toBe('pending');
    expect(r.payload?.qrCode).toMatch(/^mockpay:\/\/pay\?trade=/);
    await a.close();
    const b = adapter({ settleAfterMs: 1000 });
    expect((await b.queryCollect(ref('P1000000001'))).status).toBe('pending');
    now += 1000;
    const s = await b.queryCollect(ref('P1000000001'));
    expect(s).toMatchObject({ status: 'succeeded', channelTradeNo: r.channelTradeNo, amountMinor: 1234, paidAt: '2026-11-23T10:00:01.000Z' });
    await b.close();
    expect(records.length).toBeGreaterThan(0);
  });

  it('decides outcomes from the seed: the same seed and numbers give the same run', async () => {
    const outcomes = async (seed: number) => {
      const t = tempDir();
      const a = MockAdapter.create(validateMockConfig({ settleAfterMs: 0, successRate: 0.5, seed, persist: false }), { ...deps(), stateDir: t.dir });
      const out: string[] = [];
      for (let i = 0; i < 40; i++) out.push((await a.collect({ orderNo: `P10000000${10 + i}`, amountMinor: 100, currency: 'CNY', subject: 's' })).status);
      t.cleanup();
      return out;
    };
    const first = await outcomes(42);
    expect(await outcomes(42)).toEqual(first);
    expect(await outcomes(43)).not.toEqual(first);
    const ok = first.filter((s) => s === 'succeeded').length;
    expect(ok).toBeGreaterThan(8);
    expect(ok).toBeLessThan(32);
  });

  it('plays error scenarios on demand', async () => {
    expect(await codeOf(adapter({ scenario: 'RATE_LIMITED' }).collect({ orderNo: 'P1000000002', amountMinor: 1, currency: 'CNY', subject: 's' }))).toBe('RATE_LIMITED');
    expect(await codeOf(adapter({ scenario: 'SYSTEM_ERROR' }).balance())).toBe('SYSTEM_ERROR');
    // A timeout loses the answer, not the order: a later query finds it.
    const t = adapter({ scenario: 'TIMEOUT', scenarioOps: ['collect'], settleAfterMs: 0 });
    expect(await codeOf(t.collect({ orderNo: 'P1000000003', amountMinor: 1, currency: 'CNY', subject: 's' }))).toBe('TIMEOUT');
    expect((await t.queryCollect(ref('P1000000003'))).status).toBe('succeeded');
    const d = await adapter({ scenario: 'DECLINED' }).collect({ orderNo: 'P1000000004', amountMinor: 1, currency: 'CNY', subject: 's' });
    expect(d).toMatchObject({ status: 'failed', failure: { code: 'DECLINED' } });
    expect(() => validateMockConfig({ scenario: 'EXPLODE' })).toThrow(/scenario must be one of/);
  });

  it('pays out against the balance it keeps and refuses when short', async () => {
    const a = adapter({ balance: { CNY: '10.00' }, settleAfterMs: 0, feeBps: 100 });
    await a.collect({ orderNo: 'P1000000005', amountMinor: 1000, currency: 'CNY', subject: 's' });
    // 10.00 + 10.00 - fee 0.10 = 19.90 available
    expect(await a.balance()).toEqual([{ currency: 'CNY', availableMinor: 1990, pendingMinor: 0 }]);
    expect((await a.payout({ orderNo: 'T1000000001', amountMinor: 1990, currency: 'CNY', payee: 'x' })).status).toBe('succeeded');
    expect(await codeOf(a.payout({ orderNo: 'T1000000002', amountMinor: 1, currency: 'CNY', payee: 'x' }))).toBe('INSUFFICIENT_BALANCE');
    expect(await codeOf(a.payout({ orderNo: 'T1000000003', amountMinor: 1, currency: 'USD', payee: 'x' }))).toBe('INSUFFICIENT_BALANCE');
  });

  it('refunds only paid trades and never beyond their amount', async () => {
    const a = adapter({ settleAfterMs: 0 });
    await a.collect({ orderNo: 'P1000000006', amountMinor: 1000, currency: 'CNY', subject: 's' });
    const base = { orderNo: 'P1000000006', currency: 'CNY', totalMinor: 1000, orderCreatedAt: '' };
    expect((await a.refund({ ...base, refundNo: 'R1000000001', amountMinor: 600 })).status).toBe('succeeded');
    expect(await codeOf(a.refund({ ...base, refundNo: 'R1000000002', amountMinor: 401 }))).toBe('INVALID_REQUEST');
    // Same refund number: same refund, not a second one.
    expect((await a.refund({ ...base, refundNo: 'R1000000001', amountMinor: 600 })).status).toBe('succeeded');
    expect((await a.refund({ ...base, refundNo: 'R1000000003', amountMinor: 400 })).status).toBe('succeeded');
  });

  it('computes fees in exact integer arithmetic, rounding half up', () => {
    expect(feeFor(1234, 60)).toBe(7); // 7.404
    expect(feeFor(250, 60)).toBe(2); // 1.5 -> 2
    expect(feeFor(9007199254740991, 60)).toBe(54043195528446);
  });

  it('writes a daily bill that its reader parses back, and detects damage', async () => {
    const a = adapter({ settleAfterMs: 0 });
    await a.collect({ orderNo: 'P1000000007', amountMinor: 1234, currency: 'CNY', subject: 's' });
    await a.refund({ orderNo: 'P1000000007', refundNo: 'R1000000004', amountMinor: 234, currency: 'CNY', totalMinor: 1234, orderCreatedAt: '' });
    await a.payout({ orderNo: 'T1000000004', amountMinor: 500, currency: 'CNY', payee: 'x' });
    const bill = await a.downloadBill({ date: '2026-11-23', dir: tmp.dir });
    const rows: BillRow[] = [];
    for await (const r of readMockBill({ path: bill.path }, { date: '2026-11-23' })) rows.push(r);
    expect(rows.map((r) => [r.kind, r.orderNo, r.amountMinor, r.feeMinor])).toEqual([
      ['payment', 'P1000000007', 1234, 7],
      ['payout', 'T1000000004', -500, 0],
      ['refund', 'P1000000007', -234, 0],
    ]);
    const read = async (path: string, date = '2026-11-23') => {
      for await (const _ of readMockBill({ path }, { date })) void _;
    };
    await expect(read(bill.path, '2026-11-22')).rejects.toThrow(/bill for 2026-11-23, not 2026-11-22/);
    const text = readFileSync(bill.path, 'utf8');
    const truncated = join(tmp.dir, 'truncated.csv');
    writeFileSync(truncated, text.split('\n').slice(0, -3).join('\n'));
    await expect(read(truncated)).rejects.toThrow(/truncated/);
    const extra = join(tmp.dir, 'extra.csv');
    writeFileSync(extra, text.replace('# rows: 3', '# rows: 4'));
    await expect(read(extra)).rejects.toThrow(/footer says 4 rows, the file has 3/);
    const bad = join(tmp.dir, 'bad.csv');
    writeFileSync(bad, text.replace('12.34', '1,234.00'));
    await expect(read(bad)).rejects.toThrow(/expected 9 fields/);
    const abc = join(tmp.dir, 'abc.csv');
    writeFileSync(abc, text.replace('12.34', 'abc'));
    await expect(read(abc)).rejects.toThrow(/not a decimal/);
    const empty = join(tmp.dir, 'empty.csv');
    writeFileSync(empty, '');
    await expect(read(empty)).rejects.toThrow(/empty/);
    appendFileSync(bill.path, 'x,y\n');
    await expect(read(bill.path)).rejects.toThrow(/after the footer/);
  });

  it('hands a bill over a chunk of rows at a time (batches()), the same rows as one by one, CRLF and bad bytes included', async () => {
    const rows: BillRow[] = Array.from({ length: 20_000 }, (_, i) => ({
      line: 0, kind: 'payment', orderNo: `P${i}`, channelTradeNo: `MT${i}`, amountMinor: 100 + i, feeMinor: 1, currency: 'CNY', time: '2026-11-23T10:00:00.000Z', status: 'succeeded',
    }));
    const path = join(tmp.dir, 'many.csv');
    await writeMockBillRows(path, rows, { date: '2026-11-23' });
    const one: BillRow[] = [];
    for await (const r of readMockBill({ path }, { date: '2026-11-23' })) one.push(r);
    expect(one.map((r) => r.orderNo)).toEqual(rows.map((r) => r.orderNo));
    expect(one[0].line).toBe(5);
    // The module the registry loads (its bill reader imported on first use) passes the chunks on.
    await expectChunkedLikeOneByOne(readMockBill({ path }, { date: '2026-11-23' }), mock.bill!.read({ path }, { date: '2026-11-23' }), one);
    // CRLF line ends read the same; bytes that are not UTF-8 are refused naming the line.
    const crlf = join(tmp.dir, 'crlf.csv');
    writeFileSync(crlf, readFileSync(path, 'utf8').replaceAll('\n', '\r\n'));
    const back: BillRow[] = [];
    for await (const r of readMockBill({ path: crlf }, { date: '2026-11-23' })) back.push(r);
    expect(back).toEqual(one);
    const bad = join(tmp.dir, 'not-utf8.csv');
    writeFileSync(bad, Buffer.concat([Buffer.from('# pay mock bill\n# date: 2026-11-23\n'), Buffer.from([0xff, 0xfe, 0x0a])]));
    await expect(readMockBill({ path: bad }, { date: '2026-11-23' }).batches()[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/not valid UTF-8 \(near line 3\)/) });
  });

  it('signs callbacks that verify, and rejects tampering, expiry and missing keys', async () => {
    const secret = 'mock_whsec_test_only_for_this_test';
    const req = buildCallback(secret, 'payment.succeeded', { orderNo: 'P1', tradeNo: 'MT1', amount: '12.34', currency: 'CNY', status: 'succeeded' }, { nowMs: now, id: 'evt_1' });
    const ok = await mockCallbacks.verify(req, { webhookSecret: secret }, { at: now });
    expect(ok).toMatchObject({ valid: true, dedupKey: 'evt_1', event: { kind: 'payment', orderNo: 'P1', amountMinor: 1234, currency: 'CNY', status: 'succeeded' }, reply: { status: 200 } });
    const tampered = { ...req, body: Buffer.from(req.body.toString().replace('12.34', '99.34')) };
    expect(await mockCallbacks.verify(tampered, { webhookSecret: secret }, { at: now })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE', reply: { status: 400 } });
    expect(await mockCallbacks.verify(req, { webhookSecret: secret }, { at: now + 301_000 })).toMatchObject({ valid: false, reasonCode: 'EXPIRED' });
    expect((await mockCallbacks.verify(req, { webhookSecret: secret }, { at: now + 301_000, toleranceSec: 600 })).valid).toBe(true);
    expect(await mockCallbacks.verify(req, {}, { at: now })).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY' });
    expect(await mockCallbacks.verify(req, { webhookSecret: 'another_secret_123' }, { at: now })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    expect(mockCallbacks.detect(req)).toBe(1);
    expect(mockCallbacks.detect({ headers: {}, body: Buffer.alloc(0) })).toBe(0);
    // Several v1 signatures (secret rotation): any match passes.
    const header = `${signHeader('old_secret_value_1', req.body, Math.floor(now / 1000))},v1=${signHeader(secret, req.body, Math.floor(now / 1000)).split('v1=')[1]}`;
    expect(verifySignature(header, req.body, secret, now).ok).toBe(true);
    expect(verifySignature('t=abc,v1=zz', req.body, secret, now)).toMatchObject({ ok: false, reason: 'MALFORMED' });
  });

  it('module meets the contract and validates config', () => {
    expect(mock.description.capabilities.length).toBe(11);
    expect(() => validateMockConfig({ successRate: 2 })).toThrow(/successRate must be a number from 0 to 1/);
    expect(() => validateMockConfig({ latencyMs: 'soon' })).toThrow(/latencyMs/);
    expect(validateMockConfig({ latencyMs: '5-10' }).latency).toEqual({ kind: 'uniform', min: 5, max: 10 });
    expect(() => validateMockConfig({ balance: { JPX: '1' } })).toThrow(/unknown currency JPX/);
  });
});

describe('in-memory books', () => {
  it('forget trades not used for a generation, with their refunds, and keep what is in use', async () => {
    const { MemoryMockState } = await import('../state.js');
    const books = new MemoryMockState(4); // generations of two trades
    const trade = (orderNo: string) => ({ orderNo, tradeNo: `T${orderNo}`, kind: 'collect' as const, amountMinor: 100, currency: 'CNY', feeMinor: 0, createdMs: 0, settleMs: 0, outcome: 'succeeded' as const });
    books.insertTrade(trade('a'));
    books.insertTrade(trade('b'));
    books.insertRefund({ refundNo: 'ra', orderNo: 'a', refundTradeNo: 'x', amountMinor: 10, currency: 'CNY', createdMs: 0, settleMs: 0 });
    expect(books.getTrade('a')).toBeDefined(); // used again: a moves to the young generation
    books.insertTrade(trade('c'));
    expect(books.getTrade('b')).toBeUndefined(); // untouched for a generation
    expect(books.getTrade('a')).toBeDefined();
    expect(books.getRefund('ra')).toBeDefined();
    expect(books.refundsOf('a')).toHaveLength(1);
    for (const n of ['d', 'e', 'f']) books.insertTrade(trade(n));
    expect(books.getTrade('a')).toBeUndefined();
    expect(books.getRefund('ra')).toBeUndefined();
    expect(books.refundsOf('a')).toEqual([]);
    expect(books.getTrade('f')).toBeDefined();
  });
});
