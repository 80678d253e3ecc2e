/**
 * WeChat Pay bills: the real samples (with what they really contain, including the two that are
 * excerpts), generated trade bills (ALL / SUCCESS / REFUND, refunds, partial refunds, fees, gzip)
 * and fund-flow bills through the writer, and every kind of damage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchedBillRows, BillRow, ReadBillOptions } from '../../../src/channel/contract.js';
import { isPayError } from '../../../src/core/errors.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice, tempDir } from '../../../test/helpers/cli.js';
import { readWechatBill, wechatpayBills, writeFundFlowBill, writeTradeBill, type WechatBillRow } from '../bill.js';
import wechatpay from '../index.js';

const SAMPLES = join(SHARED_DIR, 'samples');
let dir = '';
let cleanup = () => {};
beforeAll(() => {
  ({ dir, cleanup } = tempDir('pay-wx-bill-'));
});
afterAll(() => cleanup());

/** Reads every row, and the error that ended the stream, if any. */
async function readAll(path: string, options: ReadBillOptions = {}): Promise<{ rows: BillRow[]; error?: Error & { code?: string; exitCode?: number } }> {
  const rows: BillRow[] = [];
  try {
    for await (const r of readWechatBill({ path }, options)) rows.push(r);
    return { rows };
  } catch (err) {
    if (!isPayError(err)) throw err;
    return { rows, error: err };
  }
}

const file = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('the real samples', () => {
  if (!HAS_SHARED) sharedNotice('the WeChat Pay bill samples');

  it.skipIf(!HAS_SHARED)('wechat-tradebill-all.csv: 3 payments of 0.01, the summary agrees', async () => {
    const { rows, error } = await readAll(join(SAMPLES, 'wechat-tradebill-all.csv'), { date: '2021-01-28', merchantId: '1601959334' });
    expect(error).toBeUndefined();
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.kind === 'payment' && r.amountMinor === 1 && r.feeMinor === 0 && r.currency === 'CNY' && r.status === 'SUCCESS')).toBe(true);
    expect(rows[0]).toEqual({
      line: 2,
      orderNo: 'S20210128170702357723',
      channelTradeNo: '4200000925202101284997714292',
      kind: 'payment',
      amountMinor: 1,
      feeMinor: 0,
      currency: 'CNY',
      time: '2021-01-28T09:07:11.000Z',
      status: 'SUCCESS',
    });
    expect(rows.reduce((s, r) => s + r.amountMinor, 0)).toBe(3);
  });

  it.skipIf(!HAS_SHARED)('wechat-tradebill-all.csv: another day or merchant is refused (exit 2)', async () => {
    const other = await readAll(join(SAMPLES, 'wechat-tradebill-all.csv'), { date: '2021-01-29' });
    expect(other.rows).toHaveLength(0);
    expect(other.error).toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
    expect(other.error!.message).toMatch(/dated 2021-01-28.*2021-01-29/);
    const mch = await readAll(join(SAMPLES, 'wechat-tradebill-all.csv'), { merchantId: '1900000109' });
    expect(mch.error!.message).toMatch(/merchant 1601959334, not 1900000109/);
  });

  it.skipIf(!HAS_SHARED)('wechat-tradebill-refund-row.csv: one refund row dated by its refund time; the excerpt has no summary, so it reads as truncated', async () => {
    const path = join(SAMPLES, 'wechat-tradebill-refund-row.csv');
    const { rows, error } = await readAll(path, { date: '2021-02-01' });
    expect(rows).toEqual([
      {
        line: 2,
        orderNo: 'S20210124161554311546',
        channelTradeNo: '50300807172021020106006664916',
        kind: 'refund',
        refundNo: 'S20210201143320649393',
        amountMinor: -1,
        feeMinor: 0,
        currency: 'CNY',
        // 退款成功时间 2021-02-01 14:33:24 (UTC+8), not 交易时间 2021-01-24.
        time: '2021-02-01T06:33:24.000Z',
        status: 'SUCCESS',
      },
    ]);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
    expect(error!.message).toMatch(/no summary section.*truncated/);
    // The same row with the summary WeChat Pay puts under it reads cleanly.
    const whole = file('refund-row-with-summary.csv', `${readFileSync(path, 'utf8').trimEnd()}\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\`1,\`0.00,\`0.01,\`0.00,\`0.00000,\`0.00,\`0.01\n`);
    const ok = await readAll(whole, { date: '2021-02-01' });
    expect(ok.error).toBeUndefined();
    expect(ok.rows).toEqual(rows);
  });

  it.skipIf(!HAS_SHARED)('wechat-fundflow-basic.csv: two refunds of 0.01 read, then the summary (3 flows, 1 income of 0.01) disagrees with them', async () => {
    const { rows, error } = await readAll(join(SAMPLES, 'wechat-fundflow-basic.csv'), { date: '2021-02-01' });
    expect(rows.map((r) => [r.line, r.kind, r.refundNo, r.channelTradeNo, r.amountMinor, r.time])).toEqual([
      [2, 'refund', 'S20210201135356381941', '50300806962021020105978994968', -1, '2021-02-01T05:54:01.000Z'],
      [3, 'refund', 'S20210201140044552846', '50300907032021020105978998710', -1, '2021-02-01T06:00:45.000Z'],
    ]);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
    expect(error!.message).toMatch(/资金流水总笔数 3, the file has 2 rows/);
    expect(error!.message).toMatch(/收入笔数 1, the file has 0/);
  });
});

const day = '2026-11-22';
const t = (hhmmss: string) => new Date(Date.parse(`${day}T${hhmmss}+08:00`)).toISOString();

const rows: WechatBillRow[] = [
  { line: 0, kind: 'payment', orderNo: 'P1000001', channelTradeNo: '4200000001', amountMinor: 10000, feeMinor: 60, currency: 'CNY', time: t('09:00:00'), status: 'SUCCESS', productName: '商品,带逗号' },
  { line: 0, kind: 'payment', orderNo: 'P1000002', channelTradeNo: '4200000002', amountMinor: 1, feeMinor: 0, currency: 'CNY', time: t('23:59:59'), status: 'SUCCESS' },
  // A partial refund of the first, and a full refund of an order paid the day before.
  { line: 0, kind: 'refund', orderNo: 'P1000001', channelTradeNo: '5030000001', transactionId: '4200000001', refundNo: 'R1000001', amountMinor: -2500, feeMinor: -15, currency: 'CNY', time: t('10:00:05'), refundApplyTime: t('10:00:00'), status: 'SUCCESS' },
  { line: 0, kind: 'refund', orderNo: 'P0999999', channelTradeNo: '5030000002', transactionId: '4200000000', refundNo: 'R0999999', amountMinor: -300, feeMinor: -2, currency: 'CNY', time: t('00:00:00'), paidTime: '2026-11-20T02:00:00.000Z', status: 'SUCCESS' },
];

describe('generated trade bills', () => {
  it('ALL round-trips: payments, a partial refund, a refund of an earlier day, fees, a comma in a name', async () => {
    const p = join(dir, 'all.csv');
    await writeTradeBill(p, rows, { date: day, merchantId: '1900009191', variant: 'ALL' });
    const text = readFileSync(p, 'utf8');
    expect(text.split('\n')[0]).toBe('交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注');
    expect(text).toContain('`0.60000,`0.60%');
    expect(text.trimEnd().split('\n').slice(-1)[0]).toBe('`4,`100.01,`28.00,`0.00,`0.43000,`100.01,`28.00');
    const { rows: back, error } = await readAll(p, { date: day, merchantId: '1900009191' });
    expect(error).toBeUndefined();
    expect(back.map((r) => ({ ...r, line: 0 }))).toEqual(
      rows.map((r) => ({ line: 0, orderNo: r.orderNo, channelTradeNo: r.channelTradeNo, kind: r.kind, ...(r.refundNo ? { refundNo: r.refundNo } : {}), amountMinor: r.amountMinor, feeMinor: r.feeMinor, currency: 'CNY', time: r.time, status: 'SUCCESS' })),
    );
    expect(back.map((r) => r.line)).toEqual([2, 3, 4, 5]);
  });

  it('hands the same rows over a chunk at a time (batches) as one by one, for trade and fund-flow bills, and the same damage', async () => {
    const many: WechatBillRow[] = Array.from({ length: 5000 }, (_, i) => ({
      line: 0, kind: 'payment', orderNo: `P${String(i).padStart(7, '0')}`, channelTradeNo: `42${i}`, amountMinor: 100 + i, feeMinor: 1, currency: 'CNY', time: t('12:00:00'), status: 'SUCCESS',
    }));
    const trade = join(dir, 'many.csv');
    await writeTradeBill(trade, many, { date: day, merchantId: '1900009191', variant: 'ALL' });
    const flow = join(dir, 'many-flow.csv');
    await writeFundFlowBill(flow, rows, { date: day });
    for (const p of [trade, flow]) {
      const one: BillRow[] = [];
      for await (const r of readWechatBill({ path: p }, { date: day })) one.push(r);
      const chunks: BillRow[][] = [];
      for await (const c of readWechatBill({ path: p }, { date: day }).batches()) chunks.push(c);
      expect(chunks.flat()).toEqual(one);
      expect(one.length).toBeGreaterThan(0);
      if (p === trade) expect(chunks.length).toBeGreaterThan(1);
      // The module the registry loads (its bill reader imported on first use, src/channel/lazy.ts)
      // hands over the same chunks: reconciliation reads through it.
      const viaModule = wechatpay.bill!.read({ path: p }, { date: day }) as Partial<BatchedBillRows>;
      expect(typeof viaModule.batches).toBe('function');
      const lazyChunks: BillRow[][] = [];
      for await (const c of viaModule.batches!()) lazyChunks.push(c);
      expect(lazyChunks.map((c) => c.length)).toEqual(chunks.map((c) => c.length));
      expect(lazyChunks.flat()).toEqual(one);
    }
    // A damaged summary fails the chunked read as it fails the other.
    const bad = file('many-bad.csv', readFileSync(trade, 'utf8').replace(/`5000,/, '`4999,'));
    await expect(async () => {
      for await (const c of readWechatBill({ path: bad }, { date: day }).batches()) void c;
    }).rejects.toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
  });

  it('SUCCESS lists payments only; REFUND lists refunds with their apply and success times (a header variant)', async () => {
    const s = join(dir, 'success.csv');
    await writeTradeBill(s, rows, { date: day, merchantId: '1900009191', variant: 'SUCCESS' });
    const success = await readAll(s, { date: day });
    expect(success.error).toBeUndefined();
    expect(success.rows.map((r) => r.orderNo)).toEqual(['P1000001', 'P1000002']);
    const r = join(dir, 'refund.csv');
    await writeTradeBill(r, rows, { date: day, merchantId: '1900009191', variant: 'REFUND' });
    const header = readFileSync(r, 'utf8').split('\n')[0];
    expect(header).toContain('退款申请时间,退款成功时间');
    const refund = await readAll(r, { date: day });
    expect(refund.error).toBeUndefined();
    expect(refund.rows.map((x) => [x.refundNo, x.amountMinor, x.time])).toEqual([
      ['R1000001', -2500, t('10:00:05')],
      ['R0999999', -300, t('00:00:00')],
    ]);
    // 交易时间 of the second refund is the original payment, two days earlier: still this day's bill.
    expect(readFileSync(r, 'utf8')).toContain('`2026-11-20 10:00:00');
  });

  it('reads gzip, a BOM and CRLF line ends', async () => {
    const p = join(dir, 'all.csv.gz');
    await writeTradeBill(p, rows, { date: day, merchantId: '1900009191' });
    expect(readFileSync(p).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect((await readAll(p, { date: day })).rows).toHaveLength(4);
    const plain = join(dir, 'plain.csv');
    await writeTradeBill(plain, rows, { date: day });
    const crlf = file('bom-crlf.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(readFileSync(plain, 'utf8').replace(/\n/g, '\r\n'))]));
    const back = await readAll(crlf, { date: day });
    expect(back.error).toBeUndefined();
    expect(back.rows).toHaveLength(4);
    // The contract writer: variant through options, gzip through the path.
    const viaContract = join(dir, 'contract.csv.gz');
    await wechatpayBills.write!(viaContract, rows, { date: day, variant: 'REFUND' });
    expect((await readAll(viaContract)).rows.map((x) => x.kind)).toEqual(['refund', 'refund']);
  });

  it('rounds 5-decimal fees half up to fen per row and checks the summary exactly', async () => {
    const header = '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注';
    const row = (n: string, amount: string, fee: string) => `\`2026-11-22 12:00:00,\`wx1,\`1900009191,\`0,\`,\`42${n},\`P${n},\`o,\`NATIVE,\`SUCCESS,\`OTHERS,\`CNY,\`${amount},\`0.00,\`x,\`,\`${fee},\`0.60%,\`${amount},\``;
    const text = [header, row('1000001', '0.75', '0.00450'), row('1000002', '0.83', '0.00498'), '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额', '`2,`1.58,`0.00,`0.00,`0.00948,`1.58,`0.00'].join('\n');
    const back = await readAll(file('fees.csv', text));
    expect(back.error).toBeUndefined();
    expect(back.rows.map((r) => r.feeMinor)).toEqual([0, 0]);
    const wrong = await readAll(file('fees-wrong.csv', text.replace('`0.00948', '`0.00949')));
    expect(wrong.error!.message).toMatch(/手续费总金额 0.00949, the rows add up to 0.00948/);
    const up = await readAll(file('fees-up.csv', text.replace('0.00450', '0.00500').replace('`0.00948', '`0.00998')));
    expect(up.rows.map((r) => r.feeMinor)).toEqual([1, 0]);
  });
});

describe('generated fund-flow bills', () => {
  it('round-trip payments, fees, refunds and payouts; the summary counts income and expense', async () => {
    const p = join(dir, 'fundflow.csv');
    const flows: BillRow[] = [
      rows[0],
      rows[2],
      { line: 0, kind: 'payout', orderNo: 'T1000001', channelTradeNo: '1330000001', amountMinor: -500, feeMinor: 0, currency: 'CNY', time: t('11:00:00'), status: 'SUCCESS' },
    ];
    const n = await writeFundFlowBill(p, flows, { date: day, merchantId: '1900009191' });
    expect(n).toBe(5);
    const text = readFileSync(p, 'utf8');
    expect(text.split('\n')[0]).toBe('记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号');
    expect(text.trimEnd().split('\n').slice(-1)[0]).toBe('`5,`2,`100.15,`3,`30.60');
    const back = await readAll(p, { date: day });
    expect(back.error).toBeUndefined();
    expect(back.rows.map((r) => [r.kind, r.amountMinor, r.feeMinor, r.orderNo ?? r.refundNo])).toEqual([
      ['payment', 10000, 0, 'P1000001'],
      ['fee', 0, 60, 'P1000001'],
      ['refund', -2500, 0, 'R1000001'],
      ['fee', 0, -15, 'P1000001'],
      ['payout', -500, 0, 'T1000001'],
    ]);
    const wrongDay = await readAll(p, { date: '2026-11-23' });
    expect(wrongDay.error).toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('damage is a clear INVALID_REQUEST (exit 2)', () => {
  let good = '';
  beforeAll(async () => {
    const p = join(dir, 'good.csv');
    await writeTradeBill(p, rows, { date: day, merchantId: '1900009191' });
    good = readFileSync(p, 'utf8');
  });
  const lines = () => good.trimEnd().split('\n');

  const cases: Array<[string, () => string | Buffer, RegExp]> = [
    ['an empty file', () => '', /is empty/],
    ['a truncated file (no summary)', () => lines().slice(0, 3).join('\n'), /no summary section/],
    ['a file cut inside the summary', () => lines().slice(0, -1).join('\n'), /not followed by a summary row|no summary section/],
    ['a missing row (the summary disagrees)', () => [lines()[0], ...lines().slice(2)].join('\n'), /counts 4 rows, the file has 3/],
    ['an amount with a thousands separator', () => good.replace('`100.00,`0.00', '`1,000.00,`0.00'), /expected \d+ fields|not a decimal/],
    ['an amount that is not a number', () => good.replace('`100.00,`0.00', '`abc,`0.00'), /not a decimal/],
    ['a wrong encoding (GBK bytes)', () => Buffer.concat([Buffer.from(lines()[0].split(',')[0] + ','), Buffer.from([0xbd, 0xbb, 0xd2, 0xd7]), Buffer.from('\n')]), /not UTF-8/],
    ['rows after the summary', () => `${good.trimEnd()}\n${lines()[1]}\n`, /after the summary/],
    ['a field count off the header', () => good.replace(',`NATIVE', ''), /expected \d+ fields, found/],
    ['a bad time', () => good.replace(`\`${day} 09:00:00`, '`2026-11-22T09:00'), /not a date-time/],
    ['an API error saved as a bill', () => '{"code":"NO_STATEMENT_EXIST","message":"账单不存在"}', /JSON answer/],
    ['some other CSV', () => 'a,b,c\n1,2,3\n', /not a WeChat Pay trade or fund-flow bill/],
    ['a damaged gzip', () => gzipSync(Buffer.from(good)).subarray(0, 60), /damaged gzip|truncated|no summary/],
  ];
  for (const [name, make, message] of cases) {
    it(name, async () => {
      const p = file(`bad-${name.replace(/\W+/g, '-')}.csv`, make());
      const { error } = await readAll(p, { date: day });
      expect(error, name).toBeDefined();
      expect(error).toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
      expect(error!.message).toMatch(message);
    });
  }

  it('a fee column summary mismatch and an amount mismatch are each named', async () => {
    const amount = await readAll(file('amount-off.csv', good.replace('`100.01,`28.00,`0.00', '`100.02,`28.00,`0.00')), { date: day });
    expect(amount.error!.message).toMatch(/应结订单总金额 100.02, the rows add up to 100.01/);
  });

  it('refuses to write rows a trade bill cannot hold', async () => {
    await expect(writeTradeBill(join(dir, 'x.csv'), [{ ...rows[0], kind: 'payout' }], { date: day })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('cells the fast path does not take are still read exactly', () => {
  const header = '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
  const bill = (time: string, amount: string, fee: string, total: string, feeTotal: string) =>
    `${header}\n\`${time},\`,\`,\`0,\`,\`T1,\`P1,\`,\`NATIVE,\`SUCCESS,\`OTHERS,\`CNY,\`${amount},\`0.00,\`0,\`0,\`0.00,\`0.00,\`,\`,\`,\`,\`${fee},\`0.60%,\`${amount},\`0.00,\`\n` +
    `总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\`1,\`${total},\`0.00,\`0.00,\`${feeTotal},\`${total},\`0.00\n`;
  const read = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return readAll(p, { date: '2026-11-22' });
  };

  it('short decimals, padded cells and a fee of fewer decimals give the same row as the canonical text', async () => {
    const canonical = await read('canon.csv', bill('2026-11-22 10:00:00', '100.50', '0.60000', '100.50', '0.60000'));
    const loose = await read('loose.csv', bill(' 2026-11-22 10:00:00 ', ' 100.5', '0.6', '100.5', '0.6'));
    expect(canonical.error).toBeUndefined();
    expect(loose.error).toBeUndefined();
    expect(loose.rows).toEqual(canonical.rows);
    expect(canonical.rows[0]).toMatchObject({ amountMinor: 10050, feeMinor: 60, time: '2026-11-22T02:00:00.000Z' });
  });

  const refused: Array<[string, string, string, RegExp]> = [
    ['more decimals than fen', '100.505', '0.60000', /decimal|places|digits/i],
    ['a leading plus', '+100.50', '0.60000', /not a decimal|plain decimal/i],
    ['a dot without digits after it', '100.', '0.60000', /not a decimal|plain decimal/i],
    ['a fee of six decimals', '100.50', '0.600000', /decimal|places|digits/i],
  ];
  for (const [name, amount, fee, message] of refused) {
    it(`refuses ${name} with the exact parser's message`, async () => {
      const r = await read(`bad-${name.replace(/\W+/g, '-')}.csv`, bill('2026-11-22 10:00:00', amount, fee, '100.50', '0.60000'));
      expect(r.error).toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
      expect(r.error!.message).toMatch(message);
    });
  }

  it('a time before 1992 goes through the zone rules; a time of another day is refused', async () => {
    const old = await read('old.csv', bill('1991-06-01 10:00:00', '100.50', '0.60000', '100.50', '0.60000'));
    expect(old.error!.message).toMatch(/dated 1991-06-01 \(UTC\+8\)/);
    const next = await read('next.csv', bill('2026-11-23 00:00:00', '100.50', '0.60000', '100.50', '0.60000'));
    expect(next.error!.message).toMatch(/dated 2026-11-23 \(UTC\+8\), but the bill should cover 2026-11-22/);
  });
});

describe('characters cut by the reader\'s chunks', () => {
  it('reads a 3 MB bill of Chinese product names whole, and still refuses a cut character at the end', async () => {
    const p = join(dir, 'cjk.csv');
    const names = ['微信支付测试商品', '腾讯充值卡', '年货礼盒（大）', '🧧红包'];
    const many: WechatBillRow[] = Array.from({ length: 20_000 }, (_, i) => ({ ...rows[0], orderNo: `C${i}`, channelTradeNo: `4200${i}`, productName: names[i % 4].repeat(1 + (i % 3)) }));
    await writeTradeBill(p, many, { date: day, merchantId: '1900009191' });
    const bytes = readFileSync(p);
    expect(bytes.length).toBeGreaterThan(3 * 256 * 1024);
    const all = await readAll(p, { date: day });
    expect(all.error).toBeUndefined();
    expect(all.rows).toHaveLength(20_000);
    // The same file with its last byte cut off ends inside a character: not UTF-8.
    const cut = join(dir, 'cjk-cut.csv');
    writeFileSync(cut, Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([0xe5])]));
    expect((await readAll(cut, { date: day })).error?.message).toMatch(/not UTF-8/);
  });
});
