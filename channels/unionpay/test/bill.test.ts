import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillRow } from '../../../src/channel/contract.js';
import { listZip, readEntry, writeZip } from '../../../src/channel/zip.js';
import { billRefusal, readBillRows } from '../../../test/helpers/bills.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { billFileNames, encodeRecord, readUnionPayBill, renderRd, writeUnionPayBill, ZM_RECORD_BYTES } from '../bill.js';
import { encodeText } from '../form.js';

const MER = '777290058110097';
const DATE = '2026-11-22';

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('pay-unionpay-bill-');
});
afterAll(() => tmp.cleanup());

const readAll = (path: string, options: { date?: string; merchantId?: string } = {}) => readBillRows(readUnionPayBill, path, options);
const failure = (path: string, options: { date?: string; merchantId?: string } = {}) => billRefusal(readUnionPayBill, path, options);

const rows: BillRow[] = [
  { line: 0, orderNo: 'P20261122010000000AAAAAAAAAAAA', channelTradeNo: '772611220100000000001', kind: 'payment', amountMinor: 12345, feeMinor: 74, currency: 'CNY', time: '2026-11-21T17:00:05.000Z' },
  { line: 0, orderNo: 'P20261122020000000BBBBBBBBBBBB', channelTradeNo: '772611220200000000002', kind: 'payment', amountMinor: 100000, feeMinor: 600, currency: 'CNY', time: '2026-11-22T02:30:00.000Z' },
  // A partial refund and the rest of the same order refunded later, fees returned in part.
  { line: 0, orderNo: 'P20261122020000000BBBBBBBBBBBB', refundNo: 'R20261122030000000CCCCCCCCCCCC', channelTradeNo: '772611220200000000002', kind: 'refund', amountMinor: -40000, feeMinor: -240, currency: 'CNY', time: '2026-11-22T03:00:00.000Z' },
  { line: 0, orderNo: 'P20261122020000000BBBBBBBBBBBB', refundNo: 'R20261122040000000DDDDDDDDDDDD', channelTradeNo: '772611220200000000002', kind: 'refund', amountMinor: -60000, feeMinor: 0, currency: 'CNY', time: '2026-11-22T14:59:59.000Z' },
  { line: 0, orderNo: 'P20261122050000000EEEEEEEEEEEE', channelTradeNo: '772611220500000000005', kind: 'payment', amountMinor: 1, feeMinor: 0, currency: 'CNY', time: '2026-11-22T09:00:00.000Z' },
];

describe('UnionPay reconciliation file: write then read', () => {
  it('round-trips payments, partial refunds and fees through the zip (ZM + RD)', async () => {
    const path = join(tmp.dir, billFileNames(DATE, MER).zip);
    await writeUnionPayBill(path, rows, { date: DATE, merchantId: MER });
    const names = (await listZip(path)).map((e) => e.name);
    expect(names).toEqual(['INN26112288ZM_777290058110097', 'RD201026112201_777290058110097']);
    const back = await readAll(path, { date: DATE, merchantId: MER });
    expect(back).toHaveLength(rows.length);
    back.forEach((r, i) => {
      expect({ ...r, line: 0 }).toEqual(rows[i]);
      expect(r.line).toBe(i + 1);
    });
    const net = back.reduce((s, r) => s + r.amountMinor, 0);
    const fees = back.reduce((s, r) => s + r.feeMinor, 0);
    expect(net).toBe(12346);
    expect(fees).toBe(434);
  });

  it('writes fixed-width 607-byte GBK records and a GBK summary with the 总计 line', async () => {
    const path = join(tmp.dir, 'layout.zip');
    await writeUnionPayBill(path, rows, { date: DATE, merchantId: MER });
    const [zm, rd] = await listZip(path);
    const lines = (await readEntry(path, zm)).toString('latin1').split('\r\n').filter(Boolean);
    expect(lines.every((l) => l.length === ZM_RECORD_BYTES)).toBe(true);
    expect(ZM_RECORD_BYTES).toBe(607);
    const summary = new TextDecoder('gbk').decode(await readEntry(path, rd));
    expect(summary).toContain('中国银联全渠道商户交易汇总表');
    expect(summary).toContain(`商户代码:${MER}`);
    expect(summary).toContain('清算日期:20261122');
    expect(summary).toMatch(/总计\s+5\s+1000\.00\s+1123\.46\s+6\.74\s+2\.40\s+/);
  });

  it('reads the bare ZM detail file too (variant zm), taking date and merchant from its name', async () => {
    const path = join(tmp.dir, billFileNames(DATE, MER).zm);
    await writeUnionPayBill(path, rows, { date: DATE, merchantId: MER, variant: 'zm' });
    expect((await readAll(path, { date: DATE })).map((r) => r.amountMinor)).toEqual(rows.map((r) => r.amountMinor));
    expect((await failure(path, { date: '2026-11-21' })).message).toMatch(/settlement date 2026-11-22, not 2026-11-21/);
  });

  it('dates rows across a year end by the settlement date (MMDD without a year)', async () => {
    const path = join(tmp.dir, 'yearend.zip');
    const yearRows: BillRow[] = [
      { line: 0, orderNo: 'P1234567890', channelTradeNo: '1', kind: 'payment', amountMinor: 100, feeMinor: 1, currency: 'CNY', time: '2026-12-31T15:30:00.000Z' },
      { line: 0, orderNo: 'P1234567891', channelTradeNo: '2', kind: 'payment', amountMinor: 100, feeMinor: 1, currency: 'CNY', time: '2026-12-31T10:00:00.000Z' },
    ];
    await writeUnionPayBill(path, yearRows, { date: '2027-01-01', merchantId: MER });
    expect((await readAll(path)).map((r) => r.time)).toEqual(yearRows.map((r) => r.time));
  });

  it('streams a large file (100,000 rows) with the totals cross-checked', async () => {
    const many: BillRow[] = Array.from({ length: 100_000 }, (_, i) => ({
      line: 0,
      orderNo: `P${String(i).padStart(12, '0')}`,
      channelTradeNo: String(700000000000000000000n + BigInt(i)),
      kind: 'payment',
      amountMinor: 100 + (i % 997),
      feeMinor: i % 7,
      currency: 'CNY',
      time: '2026-11-22T04:00:00.000Z',
    }));
    const path = join(tmp.dir, 'large.zip');
    await writeUnionPayBill(path, many, { date: DATE, merchantId: MER });
    let n = 0;
    let sum = 0;
    for await (const r of readUnionPayBill({ path }, { date: DATE })) {
      n++;
      sum += r.amountMinor;
    }
    expect(n).toBe(100_000);
    expect(sum).toBe(many.reduce((s, r) => s + r.amountMinor, 0));
  });
});

describe('UnionPay reconciliation file: bad input is INVALID_REQUEST (exit 2)', () => {
  const zmText = () => rows.map((r, i) => encodeRecord(r, i, MER)).join('\r\n') + '\r\n';
  const rdText = (merId = MER) => {
    const t = { count: rows.length, amountDebit: 100000, amountCredit: 112346, feeDebit: 674, feeCredit: 240, netDebit: 99760, netCredit: 111672 };
    return renderRd({ merId, date: DATE, currency: 'CNY', generated: '2026-11-23', byType: [], total: t });
  };
  const zipWith = async (name: string, zm: Buffer | undefined, rd: Buffer | undefined) => {
    const path = join(tmp.dir, name);
    const inputs = [];
    if (zm) inputs.push({ name: billFileNames(DATE, MER).zm, data: zm });
    if (rd) inputs.push({ name: billFileNames(DATE, MER).rd, data: rd });
    await writeZip(path, inputs, Date.now());
    return path;
  };

  it('the crafted pieces are consistent (control case)', async () => {
    const path = await zipWith('control.zip', Buffer.from(zmText(), 'latin1'), encodeText(rdText(), 'gbk'));
    expect(await readAll(path)).toHaveLength(rows.length);
  });

  it('an empty file', async () => {
    const path = join(tmp.dir, 'empty.zip');
    writeFileSync(path, '');
    const err = await failure(path);
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/empty/);
  });

  it('a truncated zip', async () => {
    const good = join(tmp.dir, 'trunc-src.zip');
    await writeUnionPayBill(good, rows, { date: DATE, merchantId: MER });
    const bytes = readFileSync(good);
    const path = join(tmp.dir, 'trunc.zip');
    writeFileSync(path, bytes.subarray(0, bytes.length - 30));
    expect((await failure(path)).code).toBe('INVALID_REQUEST');
  });

  it('a corrupted zip entry fails its CRC', async () => {
    const good = join(tmp.dir, 'crc-src.zip');
    await writeUnionPayBill(good, rows, { date: DATE, merchantId: MER, variant: 'zip' });
    const bytes = Buffer.from(readFileSync(good));
    bytes[60] ^= 0xff; // inside the first entry's compressed data
    const path = join(tmp.dir, 'crc.zip');
    writeFileSync(path, bytes);
    const err = await failure(path);
    expect(err.code).toBe('INVALID_REQUEST');
  });

  it('a zip without the ZM detail file, and one without the RD summary', async () => {
    const noZm = await zipWith('no-zm.zip', undefined, encodeText(rdText(), 'gbk'));
    expect((await failure(noZm)).message).toMatch(/no ZM detail file/);
    const noRd = await zipWith('no-rd.zip', Buffer.from(zmText(), 'latin1'), undefined);
    expect((await failure(noRd)).message).toMatch(/no RD summary/);
  });

  it('rows that do not add up to the summary (a record lost)', async () => {
    const lines = zmText().split('\r\n');
    lines.splice(1, 1);
    const path = await zipWith('lost.zip', Buffer.from(lines.join('\r\n'), 'latin1'), encodeText(rdText(), 'gbk'));
    const err = await failure(path);
    expect(err.message).toMatch(/do not add up to the RD summary/);
    expect(err.message).toMatch(/counts 5 transactions, the detail file has 4/);
  });

  it('a record cut short at the end of the file (truncated)', async () => {
    const path = join(tmp.dir, billFileNames(DATE, MER).zm + '.cut');
    writeFileSync(path, zmText().slice(0, -100));
    expect((await failure(path)).message).toMatch(/truncated/);
  });

  for (const [label, bad] of [
    ['abc', 'abcdefghijkl'],
    ['1,000.00', '0001,000.00 '],
    ['spaces', '            '],
  ] as const) {
    it(`an amount like ${label}`, async () => {
      const text = zmText();
      // 交易金额 is the 7th field: bytes 66..77.
      const broken = text.slice(0, 66) + bad + text.slice(78);
      const path = join(tmp.dir, `amount-${label.replace(/\W/g, '')}`);
      writeFileSync(path, broken, 'latin1');
      const err = await failure(path);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toMatch(/交易金额/);
      expect(err.message).toMatch(/:1:/);
    });
  }

  it('a fee without its D/C letter', async () => {
    const text = zmText();
    const at = text.indexOf(' D0000000000') + 1;
    const path = join(tmp.dir, 'fee');
    writeFileSync(path, text.slice(0, at) + 'X' + text.slice(at + 1), 'latin1');
    expect((await failure(path)).message).toMatch(/商户手续费/);
  });

  it('a file in the wrong encoding (UTF-8 text shifts the fixed columns)', async () => {
    const text = zmText();
    const abbrAt = text.indexOf(' 000000000000000 ') + 17; // start of 二级商户简称
    const utf8 = Buffer.from(text.slice(0, abbrAt) + '银联商户测试'.padEnd(26, ' ') + text.slice(abbrAt + 32), 'utf8');
    const path = join(tmp.dir, 'utf8');
    writeFileSync(path, utf8);
    const err = await failure(path);
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.message).toMatch(/encoding|bytes/);
    const bom = join(tmp.dir, 'bom');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'latin1')]));
    expect((await failure(bom)).message).toMatch(/UTF-8/);
  });

  it('GBK text in a record is accepted', async () => {
    const text = zmText();
    const abbrAt = text.indexOf(' 000000000000000 ') + 17;
    const name = encodeText('银联商户测试', 'gbk'); // 12 bytes in GBK
    const line = Buffer.concat([Buffer.from(text.slice(0, abbrAt), 'latin1'), name, Buffer.alloc(32 - name.length, 0x20), Buffer.from(text.slice(abbrAt + 32), 'latin1')]);
    const path = join(tmp.dir, 'gbk');
    writeFileSync(path, line);
    expect(await readAll(path)).toHaveLength(rows.length);
  });

  it('a bill for another date or merchant', async () => {
    const path = join(tmp.dir, 'other.zip');
    await writeUnionPayBill(path, rows, { date: DATE, merchantId: MER });
    expect((await failure(path, { date: '2026-11-23' })).message).toMatch(/not 2026-11-23/);
    expect((await failure(path, { merchantId: '777290058199999' })).message).toMatch(/merchant 777290058110097's|of merchant 777290058110097/);
  });

  it('a summary naming another merchant than the detail file', async () => {
    const path = await zipWith('mixed.zip', Buffer.from(zmText(), 'latin1'), encodeText(rdText('777290058100000'), 'gbk'));
    expect((await failure(path)).message).toMatch(/summary names merchant/);
  });

  it('writing refuses non-CNY rows and bad merchant ids', async () => {
    await expect(writeUnionPayBill(join(tmp.dir, 'usd.zip'), [{ ...rows[0], currency: 'USD' }], { date: DATE, merchantId: MER })).rejects.toThrow(/CNY/);
    await expect(writeUnionPayBill(join(tmp.dir, 'm.zip'), rows, { date: DATE, merchantId: 'short' })).rejects.toThrow(/merchant code/);
  });
});
