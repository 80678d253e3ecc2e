/**
 * The Alipay trade bill: the published samples (GBK, and UTF-8 with trailing tabs), zips as
 * downloaded (GBK entry names, checked with an independent unzip), header variants, the writer
 * round trip (payments, partial refunds, fees), and every damaged-file case (exit 2).
 */
import iconv from 'iconv-lite';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchedBillRows, BillRow } from '../../../src/channel/contract.js';
import { listZip, writeZip } from '../../../src/channel/zip.js';
import { unzipOf } from '../../../test/helpers/zip.js';
import { billRefusal, expectChunkedLikeOneByOne, readBillRows } from '../../../test/helpers/bills.js';
import { HAS_SHARED, SHARED_DIR, sharedNotice, tempDir } from '../../../test/helpers/cli.js';
import { billFileName, readAlipayBill, writeAlipayBill } from '../bill.js';
import alipay from '../index.js';

const tmp = tempDir('pay-alipay-bill-');
afterAll(() => tmp.cleanup());
let n = 0;
const file = (name: string) => join(tmp.dir, `${n++}-${name}`);

const readAll = (path: string, options: { date?: string; merchantId?: string } = {}) => readBillRows(readAlipayBill, path, options);

async function expectBad(path: string, pattern: RegExp, options: { date?: string; merchantId?: string } = {}): Promise<void> {
  expect((await billRefusal(readAlipayBill, path, options)).message).toMatch(pattern);
}

function totals(rows: BillRow[]) {
  const pay = rows.filter((r) => r.kind === 'payment');
  const ref = rows.filter((r) => r.kind === 'refund');
  return {
    payments: pay.length,
    refunds: ref.length,
    gross: pay.reduce((s, r) => s + r.amountMinor, 0),
    refunded: ref.reduce((s, r) => s + r.amountMinor, 0),
    fees: rows.reduce((s, r) => s + r.feeMinor, 0),
  };
}

const SAMPLE_GBK = join(SHARED_DIR, 'samples', 'alipay-trade-20190916.gbk.csv');
const SAMPLE_UTF8 = join(SHARED_DIR, 'samples', 'alipay-trade-20190916.utf8-with-tabs.csv');
const sampleText = () => readFileSync(SAMPLE_UTF8, 'utf8');

describe.skipIf(!HAS_SHARED)('published samples', () => {
  sharedNotice('Alipay bill samples');

  for (const path of [SAMPLE_GBK, SAMPLE_UTF8]) {
    it(`${path.split('/').pop()}: 10 rows, footers agree, refunds negative with their request numbers`, async () => {
      const rows = await readAll(path, { date: '2019-09-16', merchantId: '2088021109625633' });
      expect(rows).toHaveLength(10);
      expect(totals(rows)).toEqual({ payments: 6, refunds: 4, gross: 6, refunded: -4, fees: 0 });
      expect(rows[0]).toEqual({
        line: 6,
        orderNo: 'service_1568601259302',
        channelTradeNo: '2019091622001458860515315453',
        kind: 'payment',
        amountMinor: 1,
        feeMinor: 0,
        currency: 'CNY',
        time: '2019-09-16T02:55:23.000Z',
        status: 'succeeded',
      });
      expect(rows[1]).toMatchObject({ kind: 'refund', amountMinor: -1, refundNo: 're_test_1568602607356', orderNo: 'service_1568601259302', time: '2019-09-16T02:56:48.000Z', line: 7 });
      expect(rows.filter((r) => r.kind === 'refund').every((r) => r.refundNo && r.amountMinor < 0)).toBe(true);
    });
  }

  it('refuses the sample for another day or another merchant', async () => {
    await expectBad(SAMPLE_GBK, /not the business day 2019-09-17/, { date: '2019-09-17' });
    await expectBad(SAMPLE_GBK, /not of merchant 2088999999999999/, { merchantId: '2088999999999999' });
  });

  it('reads the sample inside a zip as downloaded (GBK entry names, summary beside it)', async () => {
    const gbk = (s: string) => iconv.encode(s, 'gbk');
    const zip = file('20880211096256330156_20190916.csv.zip');
    const summary = gbk(
      '#支付宝业务汇总查询\n#账号：[20880211096256330156]\n#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\n' +
        '#-----------------------------------------业务汇总列表----------------------------------------\n' +
        '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n' +
        'alipay_store\t,alipay_store\t,5,4,0.01,0.01,0.00,0.00,0.00,0.00,0.00,0.01\n\t,\t,1,0,0.01,0.01,0.00,0.00,0.00,0.00,0.00,0.01\n' +
        '#----------------------------------------业务汇总列表结束-------------------------------------\n',
    );
    await writeZip(
      zip,
      [
        { name: gbk('20880211096256330156_20190916_业务明细.csv'), data: [readFileSync(SAMPLE_GBK)] },
        { name: gbk('20880211096256330156_20190916_业务明细(汇总).csv'), data: [summary] },
      ],
      Date.UTC(2019, 8, 17, 5, 46, 49),
    );
    const rows = await readAll(zip, { date: '2019-09-16' });
    expect(totals(rows)).toMatchObject({ payments: 6, refunds: 4 });
    // A summary whose counts disagree with the detail marks the zip as damaged.
    const badZip = file('bad-summary.zip');
    await writeZip(
      badZip,
      [
        { name: gbk('20880211096256330156_20190916_业务明细.csv'), data: [readFileSync(SAMPLE_GBK)] },
        { name: gbk('20880211096256330156_20190916_业务明细(汇总).csv'), data: [Buffer.from(summary.toString('latin1').replace('\t,\t,1,0', '\t,\t,2,0'), 'latin1')] },
      ],
      Date.UTC(2019, 8, 17),
    );
    await expectBad(badZip, /summary counts 7 payments/);
  });

  it('accepts header variants: reordered columns, ASCII parentheses, extra columns, CRLF, a BOM, no fee column', async () => {
    const lines = sampleText().split('\n');
    const hi = lines.findIndex((l) => l.startsWith('支付宝交易号'));
    const swap = (cells: string[]) => {
      // Move 商户订单号 to the end and 支付宝交易号 after 业务类型; add a column; drop 服务费.
      const [trade, order, type, ...rest] = cells;
      const fee = 22 - 3;
      const kept = rest.filter((_, i) => i !== fee);
      return [type, trade, ...kept, order, 'extra'];
    };
    const variant = lines.map((l, i) => {
      if (i < hi || l.startsWith('#') || l === '') return l;
      const cells = swap(l.split(','));
      if (i === hi) cells[cells.length - 1] = '商户识别号';
      return cells.join(',').replaceAll('（元）', '(元)');
    });
    const path = file('variant.csv');
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(variant.join('\r\n'), 'utf8')]));
    const rows = await readAll(path, { date: '2019-09-16' });
    expect(totals(rows)).toEqual({ payments: 6, refunds: 4, gross: 6, refunded: -4, fees: 0 });
    expect(rows[1]).toMatchObject({ orderNo: 'service_1568601259302', refundNo: 're_test_1568602607356', channelTradeNo: '2019091622001458860515315453' });
  });

  it('reports a damaged file: footers disagree, truncated, bad amounts, data after the footer, wrong encoding', async () => {
    const text = sampleText();
    const write = (name: string, content: string | Buffer) => {
      const p = file(name);
      writeFileSync(p, content);
      return p;
    };
    // One cent changed on a row: the 交易合计 footer no longer agrees.
    await expectBad(write('off-by-cent.csv', text.replace(',0.01,0.01,0.00', ',0.02,0.02,0.00')), /footer says 6 payments totalling 0.06.*0.07/);
    // Truncated: the footers are gone.
    await expectBad(write('truncated.csv', text.split('#---')[0] + '#---' + text.split('#---')[1]), /no #交易合计 footer: the file is truncated/);
    await expectBad(write('cut-mid-row.csv', text.slice(0, text.indexOf('2019091622001458860513822558') + 40)), /expected 25 fields|truncated/);
    // Amounts: a thousands separator (quoted, so the columns line up) and letters.
    await expectBad(write('thousands.csv', text.replace(',0.01,0.01,0.00', ',"1,000.00",0.01,0.00')), /1,000\.00.*not a decimal|not a decimal.*1,000/);
    await expectBad(write('letters.csv', text.replace(',0.01,0.01,0.00', ',abc,0.01,0.00')), /:6: 订单金额 "abc" is not a decimal/);
    await expectBad(write('unquoted-thousands.csv', text.replace(',0.01,0.01,0.00', ',1,000.00,0.01,0.00')), /:6: expected 25 fields, found 26/);
    await expectBad(write('after-footer.csv', `${text}2019091622001458860515315453,x,交易\n`), /data after the end of the detail list/);
    await expectBad(write('empty.csv', ''), /is empty/);
    await expectBad(write('blank.csv', '\n\n'), /is empty/);
    await expectBad(write('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])), /UTF-16/);
    // Shift_JIS-like garbage: decodes as neither UTF-8 nor a bill.
    await expectBad(write('not-a-bill.csv', Buffer.from([0x83, 0x65, 0x83, 0x58, 0x83, 0x67, 0x0a, 0x31, 0x2c, 0x32])), /not an Alipay trade bill/);
    // A GBK file with bytes GBK cannot hold.
    const gbk = readFileSync(SAMPLE_GBK);
    const broken = Buffer.concat([gbk.subarray(0, 400), Buffer.from([0xff, 0xff]), gbk.subarray(400)]);
    await expectBad(write('bad-gbk.csv', broken), /not valid GBK/);
    await expectBad(write('no-header.csv', text.split('\n').filter((l) => !l.startsWith('支付宝交易号')).join('\n')), /column header lacks/);
  });
});

describe('writer round trip', () => {
  const rows: BillRow[] = [
    { line: 0, orderNo: 'P1', channelTradeNo: '2026112322001400000000000001', kind: 'payment', amountMinor: 10000, feeMinor: 60, currency: 'CNY', time: '2026-11-22T16:00:01.000Z', status: 'succeeded' },
    { line: 0, orderNo: 'P2', channelTradeNo: '2026112322001400000000000002', kind: 'payment', amountMinor: 1234, feeMinor: 7, currency: 'CNY', time: '2026-11-23T03:00:00.000Z', status: 'succeeded' },
    { line: 0, orderNo: 'P1', channelTradeNo: '2026112322001400000000000001', kind: 'refund', refundNo: 'R1', amountMinor: -2500, feeMinor: -15, currency: 'CNY', time: '2026-11-23T04:00:00.000Z', status: 'succeeded' },
    { line: 0, orderNo: 'P1', channelTradeNo: '2026112322001400000000000001', kind: 'refund', refundNo: 'R2', amountMinor: -2500, feeMinor: -15, currency: 'CNY', time: '2026-11-23T15:59:59.000Z', status: 'succeeded' },
  ];
  const strip = (rs: BillRow[]) => rs.map(({ line: _line, ...r }) => r);

  for (const variant of ['zip', 'csv', 'csv-utf8'] as const) {
    it(`${variant}: reads back exactly what was written (partial refunds, fees)`, async () => {
      const path = file(variant === 'zip' ? 'bill.zip' : `bill-${variant}.csv`);
      await writeAlipayBill(path, rows, { date: '2026-11-23', merchantId: '2088000000000001', variant });
      const back = await readAll(path, { date: '2026-11-23', merchantId: '2088000000000001' });
      expect(strip(back)).toEqual(strip(rows));
      expect(back[0].line).toBe(6);
    });
  }

  it('writes the real zip layout: GBK names without the UTF-8 flag, detail and summary (independent unzip)', async () => {
    const path = file(billFileName('2088000000000001', '2026-11-23'));
    expect(path.endsWith('20880000000000010156_20261123.csv.zip')).toBe(true);
    await writeAlipayBill(path, rows, { date: '2026-11-23', merchantId: '2088000000000001' });
    const entries = await listZip(path);
    expect(entries.map((e) => e.name)).toEqual(['20880000000000010156_20261123_业务明细.csv', '20880000000000010156_20261123_业务明细(汇总).csv']);
    expect(entries.every((e) => (e.flags & 0x800) === 0)).toBe(true);
    const files = await unzipOf(readFileSync(path));
    const names = Object.keys(files).map((k) => iconv.decode(Buffer.from(k, 'latin1'), 'gbk'));
    expect(names).toEqual(entries.map((e) => e.name));
    const detail = iconv.decode(Buffer.from(files[Object.keys(files)[0]]), 'gbk');
    expect(detail.split('\n')[0]).toBe('#支付宝业务明细查询');
    expect(detail).toContain('#交易合计：2笔，商家实收共112.34元');
    expect(detail).toContain('#退款合计：2笔，商家实收退款共-50.00元');
    expect(detail).toContain(',-0.60,0.00,'); // fee deducted on P1, as Alipay prints it
    expect(detail).toContain('R1\t,0.15,0.00,'); // and given back on its refund
    const summary = iconv.decode(Buffer.from(files[Object.keys(files)[1]]), 'gbk');
    expect(summary).toMatch(/合计,,2,2,62\.34,62\.34/);
  });

  it('reports a damaged zip: truncated, corrupted data, no detail entry', async () => {
    const path = file('good.zip');
    await writeAlipayBill(path, rows, { date: '2026-11-23' });
    const bytes = readFileSync(path);
    const truncated = file('truncated.zip');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 30));
    await expectBad(truncated, /truncated|end-of-central-directory/);
    const corrupt = Buffer.from(bytes);
    corrupt[120] ^= 0xff;
    const corruptPath = file('corrupt.zip');
    writeFileSync(corruptPath, corrupt);
    await expectBad(corruptPath, /CRC|inflated|damaged/);
    const other = file('other.zip');
    await writeZip(other, [{ name: Buffer.from('readme.txt'), data: [Buffer.from('hello')] }], Date.now());
    await expectBad(other, /no trade detail CSV.*readme\.txt/);
  });

  it('refuses rows a trade bill cannot hold', async () => {
    await expect(writeAlipayBill(file('x.csv'), [{ ...rows[0], currency: 'USD' }], { date: '2026-11-23' })).rejects.toThrow(/CNY/);
    await expect(writeAlipayBill(file('y.csv'), [{ ...rows[0], kind: 'payout' }], { date: '2026-11-23' })).rejects.toThrow(/payments and refunds only/);
  });

  it('streams a 20,000-row zip back with the right totals', async () => {
    const many: BillRow[] = [];
    const base = Date.parse('2026-11-22T16:00:00.000Z');
    for (let i = 0; i < 20_000; i++) {
      const refund = i % 10 === 9;
      many.push({ line: 0, orderNo: `P${i}`, channelTradeNo: `2026112322001${String(i).padStart(15, '0')}`, kind: refund ? 'refund' : 'payment', refundNo: refund ? `R${i}` : undefined, amountMinor: refund ? -(i % 500) - 1 : (i % 9000) + 1, feeMinor: refund ? 0 : i % 7, currency: 'CNY', time: new Date(base + i * 4000).toISOString(), status: 'succeeded' });
    }
    const path = file('many.zip');
    await writeAlipayBill(path, many, { date: '2026-11-23' });
    let count = 0;
    let sum = 0;
    for await (const r of readAlipayBill({ path }, { date: '2026-11-23' })) {
      count++;
      sum += r.amountMinor;
    }
    expect(count).toBe(20_000);
    expect(sum).toBe(many.reduce((s, r) => s + r.amountMinor, 0));
  });
});

describe('reading a chunk at a time', () => {
  const day = '2026-11-23';
  const base = Date.parse('2026-11-22T16:00:00.000Z');
  // 5,000 rows, two to a second (the reader reuses the last time converted), every tenth a refund.
  const many: BillRow[] = Array.from({ length: 5000 }, (_, i) => {
    const refund = i % 10 === 9;
    return {
      line: 0,
      orderNo: `P${String(refund ? i - 1 : i).padStart(8, '0')}`,
      channelTradeNo: `2026112322001${String(i).padStart(15, '0')}`,
      kind: refund ? 'refund' : 'payment',
      refundNo: refund ? `R${i}` : undefined,
      amountMinor: refund ? -(i % 500) - 1 : (i % 9000) + 1,
      feeMinor: refund ? -(i % 3) : i % 7,
      currency: 'CNY',
      time: new Date(base + Math.floor(i / 2) * 1000).toISOString(),
      status: 'succeeded',
    };
  });
  const strip = (rs: BillRow[]) => rs.map(({ line: _line, ...r }) => r);

  for (const variant of ['csv', 'zip'] as const) {
    it(`${variant}: batches() hands over the rows read one by one, in several chunks, and so does the module the registry loads`, async () => {
      const path = file(variant === 'zip' ? 'many.zip' : 'many.csv');
      await writeAlipayBill(path, many, { date: day, variant });
      const one = await readAll(path, { date: day });
      expect(strip(one)).toEqual(strip(many));
      expect(one.map((r) => r.line)).toEqual(many.map((_, i) => i + 6));
      // Reconciliation reads through the channel module, whose bill reader is imported on first use.
      await expectChunkedLikeOneByOne(readAlipayBill({ path }, { date: day }), alipay.bill!.read({ path }, { date: day }), one);
    });
  }

  it('reads quoted lines among plain ones, cells padded with white space, amounts in any exact form, and blank lines', async () => {
    const path = file('mixed.csv');
    const rows = many.slice(0, 40);
    rows[2] = { ...rows[2], amountMinor: 300 };
    await writeAlipayBill(path, rows, { date: day, variant: 'csv-utf8' });
    const lines = readFileSync(path, 'utf8').split('\n');
    const first = lines.findIndex((l) => l.startsWith('2026112322001'));
    const edited = lines.map((l, i) => {
      if (i === first) return l.split(',').map((c) => `"${c.trim()}"`).join(','); // a spreadsheet round trip
      if (i === first + 1) return ` ${l.split(',').map((c, j) => (j === 1 ? `  ${c}  ` : c)).join(',')}`; // leading blanks
      if (i === first + 2) return l.replace(',3.00,3.00,', ',3,3.0,'); // not the usual two decimals: the exact parser
      if (i === first + 3) return `\t \n${l}`; // a blank line before the row
      return l;
    });
    writeFileSync(path, edited.join('\n'));
    expect(edited[first]).toMatch(/^"2026112322001\d+","P/);
    expect(edited[first + 2]).toContain(',3,3.0,');
    const back = await readAll(path, { date: day });
    expect(strip(back)).toEqual(strip(rows));
    expect(back[3].line).toBe(back[2].line + 2);
  });

  it('refuses a row with a cell too many or too few, an unreadable time or a malformed amount, naming the line', async () => {
    const path = file('good.csv');
    await writeAlipayBill(path, many.slice(0, 40), { date: day, variant: 'csv-utf8' });
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('2026112322001')) + 5; // the sixth row
    const lineNo = at + 1;
    const edit = (name: string, change: (line: string) => string) => {
      const p = file(name);
      writeFileSync(p, lines.map((l, i) => (i === at ? change(l) : l)).join('\n'));
      return p;
    };
    const cells = lines[at].split(',').length;
    await expectBad(edit('extra.csv', (l) => `${l},x`), new RegExp(`:${lineNo}: expected ${cells} fields, found ${cells + 1}`), { date: day });
    await expectBad(edit('short.csv', (l) => l.slice(0, l.lastIndexOf(','))), new RegExp(`:${lineNo}: expected ${cells} fields, found ${cells - 1}`), { date: day });
    // The row before has another time, so the bad one is converted (not taken from the last row).
    await expectBad(edit('time.csv', (l) => l.replaceAll(/2026-11-23 \d\d:\d\d:\d\d/g, '2026-11-23 25:00:00')), new RegExp(`:${lineNo}: "2026-11-23 25:00:00" is not a date-time`), { date: day });
    await expectBad(edit('amount.csv', (l) => l.replace(/,(\d+\.\d\d),/, ',1.2.3,')), new RegExp(`:${lineNo}: 订单金额 "1.2.3" is not a decimal`), { date: day });
    await expectBad(edit('sign.csv', (l) => l.replace(/,(\d+\.\d\d),/, ',--1.00,')), new RegExp(`:${lineNo}: 订单金额`), { date: day });
  });
});
