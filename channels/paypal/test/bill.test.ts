/**
 * PayPal statements: the settlement report (STL) in UTF-8 and UTF-16 with every footer
 * cross-checked, the transactions JSON lines `downloadBill` saves (paged from the simulator), and
 * damaged files refused. (../shared/samples has no PayPal statement: every file here is generated.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillRow } from '../../../src/channel/contract.js';
import { generateId } from '../../../src/core/ids.js';
import { billRefusal, readBillRows } from '../../../test/helpers/bills.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { paypalBills, readPaypalBill } from '../bill.js';
import { startPaypalHarness, type PaypalHarness } from './harness.js';

const { dir, cleanup } = tempDir('pay-paypal-bill-');
afterAll(cleanup);

const readAll = (path: string, options: { date?: string; merchantId?: string } = {}) => readBillRows(readPaypalBill, path, options);
const refusal = async (path: string, options: { date?: string; merchantId?: string } = {}) => (await billRefusal(readPaypalBill, path, options)).message;

const ROWS: BillRow[] = [
  { line: 0, kind: 'payment', orderNo: 'P1', channelTradeNo: 'CAP1', amountMinor: 10_000, feeMinor: 398, currency: 'USD', time: '2026-11-23T01:02:03.000Z' },
  { line: 0, kind: 'payment', orderNo: 'P2', channelTradeNo: 'CAP2', amountMinor: 5_000, feeMinor: 224, currency: 'USD', time: '2026-11-23T10:00:00.000Z' },
  { line: 0, kind: 'refund', orderNo: 'P1', refundNo: 'R1', channelTradeNo: 'REF1', amountMinor: -2_500, feeMinor: 0, currency: 'USD', time: '2026-11-23T12:00:00.000Z' },
  { line: 0, kind: 'refund', orderNo: 'P2', refundNo: 'R2', channelTradeNo: 'REF2', amountMinor: -5_000, feeMinor: -175, currency: 'USD', time: '2026-11-23T13:00:00.000Z' },
  { line: 0, kind: 'payment', orderNo: 'P3', channelTradeNo: 'CAP3', amountMinor: 1500, feeMinor: 92, currency: 'JPY', time: '2026-11-23T14:00:00.000Z' },
  { line: 0, kind: 'payment', orderNo: 'P4', channelTradeNo: 'CAP4', amountMinor: 30_000, feeMinor: 1100, currency: 'TWD', time: '2026-11-23T15:00:00.000Z' },
  { line: 0, kind: 'payout', orderNo: 'T1', channelTradeNo: 'PAYOUT1', amountMinor: -8_000, feeMinor: 0, currency: 'USD', time: '2026-11-23T23:59:59.000Z' },
];

const strip = (r: BillRow) => ({ kind: r.kind, orderNo: r.orderNo, refundNo: r.refundNo, channelTradeNo: r.channelTradeNo, amountMinor: r.amountMinor, feeMinor: r.feeMinor, currency: r.currency, time: r.time });

describe('settlement report (STL)', () => {
  it('round-trips every kind and sign, in UTF-8 and UTF-16', async () => {
    for (const variant of ['stl', 'stl-utf16']) {
      const path = join(dir, `STL-20261123.01.009.${variant}.CSV`);
      await paypalBills.write!(path, ROWS, { date: '2026-11-23', merchantId: 'ACCT1', variant });
      const rows = await readAll(path, { date: '2026-11-23', merchantId: 'ACCT1' });
      expect(rows.map(strip), variant).toEqual(ROWS.map(strip));
      expect(rows[0].line).toBe(5);
    }
    const text = readFileSync(join(dir, 'STL-20261123.01.009.stl.CSV'), 'utf8');
    // Two implied decimals for every currency, JPY included (PayPal: "100,00 yen ... 10000").
    expect(text).toMatch(/"CAP3","P3",.*"CR",150000,"JPY","DR",9200,"JPY"/);
    expect(text).toMatch(/"REF1","R1",.*"T1107",.*"DR",2500,"USD"/);
    expect(text).toContain('"SF","USD",15000,15500,175,622,');
    expect(text.trim().split('\r\n').at(-1)).toBe('"FF",7');
    const utf16 = readFileSync(join(dir, 'STL-20261123.01.009.stl-utf16.CSV'));
    expect([utf16[0], utf16[1]]).toEqual([0xff, 0xfe]);
  });

  it('reads a report in PayPal\'s own layout: a BOM, quoted strings, unquoted dates, extra columns, several sections', async () => {
    const ch = '"CH","Transaction ID","Invoice ID","PayPal Reference ID","PayPal Reference ID Type","Transaction Event Code","Transaction Initiation Date","Transaction Completion Date","Transaction  Debit or Credit","Gross Transaction Amount","Gross Transaction Currency","Fee Debit or Credit","Fee Amount","Fee Currency","Custom Field","Consumer ID","Payment Tracking ID","Store ID","Bank Reference ID","Credit Transactional Fee","Credit Promotional Fee","Credit Term"';
    const lines = [
      '"RH",2026/11/24 04:53:20 -0800,"A","ACCT1",009,',
      '"FH",01',
      '"SH",2026/11/23 00:00:00 -0800,2026/11/23 23:59:59 -0800,"ACCT1",""',
      ch,
      '"SB","8AB12345CD6789012","P100","","","T0006",2026/11/23 09:34:59 -0800,2026/11/23 09:34:59 -0800,"CR",12345,"USD","DR",461,"USD","P100","","","","","","",""',
      '"SB","1XY98765ZW4321098","R100","8AB12345CD6789012","TXN","T1107",2026/11/23 11:00:00 -0800,2026/11/23 11:00:00 -0800,"DR",2345,"USD","CR",0,"USD","P100","","","","","","",""',
      '"SF","USD",12345,2345,0,461,"CR",100000,"CR",109539,"CR",0,"CR",0',
      '"SC",2',
      '"SH",2026/11/23 00:00:00 -0800,2026/11/23 23:59:59 -0800,"ACCT1",""',
      ch,
      '"SB","5QQ11111AA2222222","P200","","","T0006",2026/11/23 12:00:00 -0800,2026/11/23 12:00:00 -0800,"CR",500000,"JPY","DR",21400,"JPY","P200","","","","","","",""',
      '"SF","JPY",500000,0,0,21400,"CR",0,"CR",478600,"CR",0,"CR",0',
      '"SC",1',
      '"RF","USD",12345,2345,0,461,"CR",100000,"CR",109539,"CR",0,"CR",0',
      '"RF","JPY",500000,0,0,21400,"CR",0,"CR",478600,"CR",0,"CR",0',
      '"RC",3',
      '"FF",3',
    ];
    const path = join(dir, 'paypal-layout.CSV');
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.join('\r\n') + '\r\n')]));
    const rows = await readAll(path, { date: '2026-11-23' });
    expect(rows.map(strip)).toEqual([
      { kind: 'payment', orderNo: 'P100', refundNo: undefined, channelTradeNo: '8AB12345CD6789012', amountMinor: 12345, feeMinor: 461, currency: 'USD', time: '2026-11-23T17:34:59.000Z' },
      { kind: 'refund', orderNo: 'P100', refundNo: 'R100', channelTradeNo: '1XY98765ZW4321098', amountMinor: -2345, feeMinor: 0, currency: 'USD', time: '2026-11-23T19:00:00.000Z' },
      { kind: 'payment', orderNo: 'P200', refundNo: undefined, channelTradeNo: '5QQ11111AA2222222', amountMinor: 5000, feeMinor: 214, currency: 'JPY', time: '2026-11-23T20:00:00.000Z' },
    ]);
    expect(rows.map((r) => r.line)).toEqual([5, 6, 11]);
  });

  it('refuses damaged reports with exit 2', async () => {
    const path = join(dir, 'base.CSV');
    await paypalBills.write!(path, ROWS, { date: '2026-11-23', merchantId: 'ACCT1' });
    const lines = readFileSync(path, 'utf8').trim().split('\r\n');
    const sb = lines.findIndex((l) => l.startsWith('"SB"'));
    const variants: [string, string[], RegExp][] = [
      ['no-ff', lines.slice(0, -1), /no FF file footer/],
      ['cut-section', lines.slice(0, sb + 3), /no SF\/SC footer/],
      ['cut-mid-line', [...lines.slice(0, sb + 2), lines[sb + 2].slice(0, 30)], /never closed|fields|amount|time/],
      ['sf-total', lines.map((l) => (l.startsWith('"SF","USD"') ? l.replace('"SF","USD",15000', '"SF","USD",15001') : l)), /section footer \(SF\) says grossCredit 15001/],
      ['rf-total', lines.map((l) => (l.startsWith('"RF","USD"') ? l.replace(',622,', ',623,') : l)), /report footer \(RF\) says feeDebit 623/],
      ['sc-count', lines.map((l) => (l.startsWith('"SC"') ? '"SC",6' : l)), /SC\) says 6 records, the section has 7/],
      ['ff-count', lines.map((l) => (l.startsWith('"FF"') ? '"FF",8' : l)), /FF\) says 8 records/],
      ['dropped-row', lines.filter((_, i) => i !== sb + 1), /says|footer/],
      ['thousands', lines.map((l, i) => (i === sb ? l.replace(',"CR",10000,"USD"', ',"CR","10,000","USD"') : l)), /not an unsigned integer amount/],
      ['abc', lines.map((l, i) => (i === sb ? l.replace(',"CR",10000,"USD"', ',"CR",abc,"USD"') : l)), /"abc" is not an unsigned integer amount/],
      ['direction', lines.map((l, i) => (i === sb ? l.replace(',"CR",10000,"USD"', ',"XX",10000,"USD"') : l)), /neither CR nor DR/],
      ['jpy-fraction', lines.map((l) => (l.includes('"CAP3"') ? l.replace(',150000,"JPY"', ',150050,"JPY"') : l)), /fraction JPY cannot hold/],
      ['no-rh', lines.slice(1), /starts with an RH record/],
      ['unknown-record', [...lines.slice(0, 2), '"ZZ",1', ...lines.slice(2)], /unknown record type "ZZ"/],
    ];
    for (const [name, content, re] of variants) {
      const p = join(dir, `${name}.CSV`);
      writeFileSync(p, `${content.join('\r\n')}\r\n`);
      expect(await refusal(p), name).toMatch(re);
    }
    expect(await refusal(path, { date: '2026-11-22' })).toMatch(/report for 2026-11-23, not 2026-11-22/);
    expect(await refusal(path, { merchantId: 'ACCT2' })).toMatch(/account ACCT1, not ACCT2/);
    const empty = join(dir, 'empty.CSV');
    writeFileSync(empty, '');
    expect(await refusal(empty)).toMatch(/empty/);
    const gbk = join(dir, 'gbk.CSV');
    writeFileSync(gbk, Buffer.concat([Buffer.from(lines.slice(0, sb).join('\r\n') + '\r\n"SB","'), Buffer.from([0xd6, 0xa7, 0xb8, 0xb6]), Buffer.from('"\r\n')]));
    expect(await refusal(gbk)).toMatch(/not valid UTF-8/);
  });
});

describe('transactions JSON lines', () => {
  it('round-trips through the writer, and refuses truncation, a count mismatch, another day or account', async () => {
    const path = join(dir, 'tx.jsonl');
    await paypalBills.write!(path, ROWS, { date: '2026-11-23', merchantId: 'ACCT1', variant: 'transactions' });
    const rows = await readAll(path, { date: '2026-11-23', merchantId: 'ACCT1' });
    expect(rows.map(strip)).toEqual(ROWS.map(strip));
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const cases: [string, string[], RegExp][] = [
      ['cut', lines.slice(0, -1), /cut short/],
      ['count', [lines[0], ...lines.slice(2)], /says 7 transactions, the file has 6/],
      ['amount', [lines[0], lines[1].replace('"100.00"', '"1,000.00"'), ...lines.slice(2)], /separators|not a decimal/],
      ['jpy', lines.map((l) => l.replace('"1500"', '"1500.5"')), /decimal place/],
    ];
    for (const [name, content, re] of cases) {
      const p = join(dir, `${name}.jsonl`);
      writeFileSync(p, `${content.join('\n')}\n`);
      expect(await refusal(p), name).toMatch(re);
    }
    expect(await refusal(path, { date: '2026-11-24' })).toMatch(/for 2026-11-23, not 2026-11-24/);
    expect(await refusal(path, { merchantId: 'X' })).toMatch(/ACCT1, not X/);
  });
});

describe('downloadBill from the simulator', () => {
  let h: PaypalHarness;
  beforeAll(async () => {
    h = await startPaypalHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pages through the day\'s transactions; the file reads back with order and refund numbers and fees', async () => {
    const a = await h.adapter();
    const today = new Date().toISOString().slice(0, 10);
    const orderNo = generateId('payment');
    const c = await a.collect({ orderNo, amountMinor: 10_000, currency: 'USD', subject: 'x' });
    await h.sandbox.pay('paypal', orderNo);
    await a.queryCollect({ orderNo, channelTradeNo: c.channelTradeNo, amountMinor: 10_000, currency: 'USD', createdAt: new Date().toISOString() });
    const refundNo = generateId('refund');
    await a.refund({ orderNo, refundNo, channelTradeNo: c.channelTradeNo, amountMinor: 2_500, totalMinor: 10_000, currency: 'USD', orderCreatedAt: new Date().toISOString() });
    // Earlier activity of the day, so the report needs two pages of 500.
    const base = h.sim.ledger.entries[0];
    for (let i = 0; i < 520; i++) {
      const info = { ...(base.detail.transaction_info as Record<string, unknown>), transaction_id: `FILL${String(i).padStart(13, '0')}`, invoice_id: `PFILL${i}`, custom_field: `PFILL${i}` };
      h.sim.ledger.entries.unshift({ ...base, detail: { transaction_info: info } });
    }
    const bill = await a.downloadBill({ date: today, dir });
    expect(bill.format).toBe('paypal-transactions');
    const pages = h.sandbox.requests('paypal').filter((r) => r.url.startsWith('/v1/reporting/transactions'));
    expect(pages.map((p) => new URL(p.url, 'http://x').searchParams.get('page'))).toEqual(['1', '2']);
    const rows = await readAll(bill.path, { date: today });
    expect(rows).toHaveLength(522);
    const pay = rows.find((r) => r.orderNo === orderNo && r.kind === 'payment')!;
    expect(pay).toMatchObject({ amountMinor: 10_000, currency: 'USD', status: 'S' });
    expect(pay.feeMinor).toBeGreaterThan(0);
    expect(rows.find((r) => r.kind === 'refund')).toMatchObject({ orderNo, refundNo, amountMinor: -2_500 });

    // The same day as the settlement report the simulator drops (written by the channel's writer).
    const stl = join(dir, `STL-${today.replace(/-/g, '')}.01.009.CSV`);
    expect(await h.sim.writeSettlementReport(today, stl)).toBe(522);
    const fromStl = await readAll(stl, { date: today, merchantId: String(h.profile.merchantId) });
    const key = (r: BillRow) => [r.kind, r.orderNo, r.refundNo, r.amountMinor, r.feeMinor, r.currency, r.channelTradeNo].join('|');
    expect(fromStl.map(key).sort()).toEqual(rows.map(key).sort());
  });
});
