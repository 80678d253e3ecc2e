import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchedBillRows, BillRow } from '../../../src/channel/contract.js';
import { listZip, readEntry, writeZip } from '../../../src/channel/zip.js';
import { billChunks, billRefusal, expectChunkedLikeOneByOne, readBillRows } from '../../../test/helpers/bills.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { OFFSET, WIDTH, ZM_MIN_BYTES, ZM_RECORD_BYTES, type ZmField } from '../bill-format.js';
import { lineRuns } from '../bill-reader.js';
import { billFileNames, encodeRecord, readUnionPayBill, writeUnionPayBill } from '../bill.js';
import { encodeText } from '../form.js';
import unionpay from '../index.js';

const MER = '777290058110097';
const DATE = '2026-11-22';
const opts = { date: DATE, merchantId: MER };

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('pay-unionpay-chunks-');
});
afterAll(() => tmp.cleanup());
const file = (name: string) => join(tmp.dir, name);

type Options = { date?: string; merchantId?: string };
const readAll = (path: string, options: Options = opts) => readBillRows(readUnionPayBill, path, options);
const failure = (path: string, options: Options = opts) => billRefusal(readUnionPayBill, path, options);
const strip = (rs: BillRow[]) => rs.map(({ line: _line, ...r }) => r);

// Beijing midnight of the settlement date.
const base = Date.parse('2026-11-21T16:00:00.000Z');
// 3,000 rows, three to a second (the reader reuses the last time converted), every tenth a
// refund, every 25th an adjustment (settling to the merchant or from it), fees of every sign.
const many: BillRow[] = Array.from({ length: 3000 }, (_, i) => {
  const refund = i % 10 === 9;
  const adjustment = !refund && i % 25 === 0;
  return {
    line: 0,
    orderNo: `P${String(refund ? i - 1 : i).padStart(20, '0')}`,
    ...(refund ? { refundNo: `R${String(i).padStart(20, '0')}` } : {}),
    channelTradeNo: String(700000000000000000000n + BigInt(refund ? i - 1 : i)),
    kind: refund ? 'refund' : adjustment ? 'adjustment' : 'payment',
    amountMinor: refund ? -(100 + (i % 500)) : adjustment && i % 50 === 0 ? -(200 + i) : 100 + (i % 99_999),
    feeMinor: refund ? -(i % 3) || 0 : adjustment ? 0 : i % 7,
    currency: 'CNY',
    time: new Date(base + Math.floor(i / 3) * 1000).toISOString(),
  };
});

/** The ZM records of `rows`, as lines without their CRLF. */
const records = (rows: BillRow[], merId = MER) => rows.map((r, i) => encodeRecord(r, i, merId));
/** `line` with `field` replaced by `value` (padded with spaces to the field's width). */
const setField = (line: string, field: ZmField, value: string) => {
  expect(value.length).toBeLessThanOrEqual(WIDTH[field]);
  return line.slice(0, OFFSET[field]) + value.padEnd(WIDTH[field], ' ') + line.slice(OFFSET[field] + WIDTH[field]);
};
const fieldOf = (line: string, field: ZmField) => line.slice(OFFSET[field], OFFSET[field] + WIDTH[field]);
/** A bare ZM file whose name does not say whose it is (the merchant check is the records'). */
const zmFile = (name: string, lines: string[], end = '\r\n') => {
  const path = file(name);
  writeFileSync(path, lines.join('\r\n') + end, 'latin1');
  return path;
};

describe('reading a chunk at a time', () => {
  for (const variant of ['zip', 'zm'] as const) {
    it(`${variant}: batches() hands over the rows read one by one, in several chunks, and so does the module the registry loads`, async () => {
      const names = billFileNames(DATE, MER);
      const path = file(variant === 'zip' ? names.zip : names.zm);
      await writeUnionPayBill(path, many, { date: DATE, merchantId: MER, variant });
      const one = await readAll(path);
      expect(strip(one)).toEqual(strip(many));
      expect(one.map((r) => r.line)).toEqual(many.map((_, i) => i + 1));
      expect(one.filter((r) => r.kind === 'adjustment' && r.amountMinor < 0).length).toBeGreaterThan(0);
      // Reconciliation reads through the channel module, whose bill reader is imported on first use.
      await expectChunkedLikeOneByOne(readUnionPayBill({ path }, opts), unionpay.bill!.read({ path }, opts), one);
      // The checks still apply a chunk at a time.
      await expect(billChunks(readUnionPayBill({ path }, { date: '2026-11-23' }))).rejects.toThrow(/settlement date 2026-11-22, not 2026-11-23/);
    });
  }

  it('the totals of rows read a chunk at a time are still checked against the RD summary', async () => {
    const good = file('sum-src.zip');
    await writeUnionPayBill(good, many, { date: DATE, merchantId: MER });
    const [zm, rd] = await listZip(good);
    const lines = (await readEntry(good, zm)).toString('latin1').split('\r\n');
    // One amount of a late row one fen higher: every field still well-formed.
    const at = 2500;
    const amount = fieldOf(lines[at], 'txnAmt');
    lines[at] = setField(lines[at], 'txnAmt', String(Number(amount) + 1).padStart(12, '0'));
    const path = file('sum.zip');
    await writeZip(path, [{ name: zm.name, data: Buffer.from(lines.join('\r\n'), 'latin1') }, { name: rd.name, data: await readEntry(good, rd) }], Date.now());
    await expect(billChunks(readUnionPayBill({ path }, opts))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/do not add up to the RD summary \(amounts: summary net [\d.]+, rows [\d.]+\)/),
    });
    // The same file as written reads.
    expect(await readAll(good)).toHaveLength(many.length);
  });

  it('a record read from its bytes gives the same row as its right-trimmed copy, which is read the exact way', async () => {
    const rows = many.slice(0, 30);
    const full = records(rows);
    // Unusual but valid: a debit fee of zero, a void (交易类型 31), a fee credited to the merchant.
    full[1] = setField(full[1], 'merFee', 'D000000000000');
    full[9] = setField(full[9], 'txnType', '31');
    full[4] = setField(full[4], 'merFee', 'C000000000123');
    const short = full.map((l) => l.trimEnd());
    expect(short.every((l) => l.length < ZM_RECORD_BYTES && l.length >= ZM_MIN_BYTES)).toBe(true);
    expect(short.some((l) => l.length === ZM_MIN_BYTES)).toBe(true);
    const fast = await readAll(zmFile('full', full));
    const exact = await readAll(zmFile('short', short));
    expect(fast).toStrictEqual(exact);
    expect(fast.map((r) => Object.keys(r))).toEqual(exact.map((r) => Object.keys(r)));
    expect(strip(fast.filter((_, i) => i !== 1 && i !== 4 && i !== 9))).toEqual(strip(rows.filter((_, i) => i !== 1 && i !== 4 && i !== 9)));
    expect(Object.is(fast[1].feeMinor, 0)).toBe(true);
    expect(fast[4].feeMinor).toBe(-123);
    expect(fast[9]).toMatchObject({ kind: 'refund', amountMinor: rows[9].amountMinor, refundNo: rows[9].refundNo, orderNo: rows[9].orderNo });
  });

  it('a GBK record among ASCII ones reads the same, and a record that is not GBK is refused naming its line', async () => {
    const lines = records(many.slice(0, 20));
    const withName = (line: string, name: Buffer) =>
      Buffer.concat([Buffer.from(line.slice(0, OFFSET.subMerAbbr), 'latin1'), name, Buffer.alloc(WIDTH.subMerAbbr - name.length, 0x20), Buffer.from(line.slice(OFFSET.subMerAbbr + WIDTH.subMerAbbr), 'latin1')]);
    const bytes = (at: number, name: Buffer) => Buffer.concat(lines.map((l, i) => Buffer.concat([i === at ? withName(l, name) : Buffer.from(l, 'latin1'), Buffer.from('\r\n')])));
    const gbk = file('gbk-mid');
    writeFileSync(gbk, bytes(7, encodeText('银联商户测试', 'gbk')));
    expect(await readAll(gbk)).toStrictEqual(await readAll(zmFile('ascii-mid', lines)));
    const bad = file('not-gbk');
    writeFileSync(bad, bytes(7, Buffer.from([0xff, 0xfe, 0xff])));
    expect((await failure(bad)).message).toMatch(/not-gbk:8: the record is not GBK text/);
  });

  it('a repeated time is reused, and the next different time is converted and checked again', async () => {
    const lines = records(many.slice(0, 12));
    expect(fieldOf(lines[0], 'txnTime')).toBe(fieldOf(lines[2], 'txnTime'));
    expect(fieldOf(lines[3], 'txnTime')).not.toBe(fieldOf(lines[2], 'txnTime'));
    const at = (n: number, time: string) => lines.map((l, i) => (i === n ? setField(l, 'txnTime', time) : l));
    // Rows 4-6 share a second; row 5 with another valid time, then row 6 back to the shared one.
    const t = fieldOf(lines[4], 'txnTime');
    const other = await readAll(zmFile('other-time', at(4, '1122235959')));
    expect(other[4].time).toBe('2026-11-22T15:59:59.000Z');
    expect(other[5].time).toBe(other[3].time);
    expect(other[5].time).toBe(new Date(base + 1000).toISOString());
    expect(t).toBe('1122000001');
    for (const [label, bad] of [
      ['an hour past 23', '1122240001'],
      ['a second past 59', '1122000060'],
      ['30 February', '0230000001'],
      ['a blank in the digits', '11220000 1'],
      ['one digit short', '112200001'],
    ] as const) {
      // The row before has the time the bad one differs from by a digit or a blank.
      const path = zmFile(`time-${label.replace(/\W/g, '')}`, at(5, bad));
      expect((await failure(path)).message, label).toContain(`:6: 交易传输时间 "${bad}" is not MMDDhhmmss`);
    }
  });

  it('refuses a malformed amount, fee, settlement, separator or merchant in the middle of a chunk, naming its line', async () => {
    const lines = records(many.slice(0, 12));
    const edit = (name: string, field: ZmField, value: string) => zmFile(name, lines.map((l, i) => (i === 6 ? setField(l, field, value) : l)));
    expect((await failure(edit('amt-letter', 'txnAmt', '00000000012x'))).message).toContain(':7: 交易金额 "00000000012x" is not a 12-digit amount in fen');
    expect((await failure(edit('amt-blank', 'txnAmt', ' 00000001234'))).message).toContain(':7: 交易金额 "00000001234" is not a 12-digit amount in fen');
    expect((await failure(edit('fee-letter', 'merFee', 'X000000000074'))).message).toContain(':7: 商户手续费 "X000000000074" is not D/C and 12 digits');
    expect((await failure(edit('fee-short', 'merFee', 'D00000000007'))).message).toContain(':7: 商户手续费 "D00000000007" is not D/C and 12 digits');
    expect((await failure(edit('net-letter', 'settleAmt', 'C00000001234a'))).message).toContain(':7: 结算金额 "C00000001234a" is not D/C and 12 digits');
    const sep = lines.map((l, i) => (i === 6 ? `${l.slice(0, OFFSET.merId - 1)}x${l.slice(OFFSET.merId)}` : l));
    expect((await failure(zmFile('sep', sep))).message).toContain(`:7: no field separator before merId at byte ${OFFSET.merId} (wrong encoding, or not a ZM record)`);
    expect((await failure(edit('mer', 'merId', '777290058199999'))).message).toContain(":7: the record is merchant 777290058199999's, not 777290058110097");
    // Without a merchant to check, the merchant field is not read.
    expect(await readAll(edit('mer-unchecked', 'merId', '777290058199999'), { date: DATE })).toHaveLength(12);
  });

  it('compares merchants as text when the field or the id is not the plain form', async () => {
    const rows = many.slice(0, 6);
    // A tab where a space would pad the field: the text (trimmed) is still the merchant's.
    const tabbed = zmFile('mer-tab', records(rows).map((l) => setField(l, 'merId', 'M1234567890123\t')));
    expect(await readAll(tabbed, { date: DATE, merchantId: 'M1234567890123' })).toHaveLength(6);
    expect((await failure(tabbed, { date: DATE, merchantId: 'M1234567890124' })).message).toContain(":1: the record is merchant M1234567890123's, not M1234567890124");
    // An id with a blank inside cannot be compared byte by byte.
    const spaced = zmFile('mer-space', records(rows).map((l, i) => setField(l, 'merId', i === 4 ? 'ABC DEG' : 'ABC DEF')));
    expect((await failure(spaced, { date: DATE, merchantId: 'ABC DEF' })).message).toContain(":5: the record is merchant ABC DEG's, not ABC DEF");
    const plain = zmFile('mer-short', records(rows).map((l) => setField(l, 'merId', 'ABC')));
    expect(await readAll(plain, { date: DATE, merchantId: 'ABC' })).toHaveLength(6);
    expect((await failure(plain, { date: DATE, merchantId: 'AB' })).message).toContain(":1: the record is merchant ABC's, not AB");
  });
});

describe('lines across chunk boundaries', () => {
  /** The lines lineRuns finds in `chunks`, with whether each ended in LF. */
  const cut = async (chunks: Buffer[]) => {
    const out: Array<[string, boolean]> = [];
    for await (const runs of lineRuns((async function* () {
      yield* chunks;
    })())) {
      for (const { data, from, to, terminated } of runs) {
        const text = data.toString('latin1', from, to);
        if (!terminated) out.push([text, false]);
        else {
          expect(text.endsWith('\n')).toBe(true);
          for (const l of text.slice(0, -1).split('\n')) out.push([l, true]);
        }
      }
    }
    return out;
  };

  it('finds the same lines wherever a chunk boundary falls, down to one byte a chunk', async () => {
    const text = Buffer.from('first line\r\n\r\nsecond\nthird line\r\nno end', 'latin1');
    const expected: Array<[string, boolean]> = [['first line\r', true], ['\r', true], ['second', true], ['third line\r', true], ['no end', false]];
    for (let p = 0; p <= text.length; p++) {
      for (let q = p; q <= text.length; q++) {
        expect(await cut([text.subarray(0, p), text.subarray(p, q), text.subarray(q)]), `cut at ${p} and ${q}`).toEqual(expected);
      }
    }
    expect(await cut([...text].map((b) => Buffer.from([b])))).toEqual(expected);
    expect(await cut([Buffer.from('a\r\n')])).toEqual([['a\r', true]]);
    expect(await cut([])).toEqual([]);
  });

  it('reads a record whose CR ends a chunk of the file and whose LF starts the next, and one cut in its middle', async () => {
    const rows = many.slice(0, 900);
    const lines = records(rows);
    // A bare ZM file is read 256 KiB at a time: a blank line first puts the end of the 430th
    // record's CR on the first boundary (429 records of 609 bytes + 607 + CR = 262144 - 275).
    const blank = ' '.repeat(273);
    const path = zmFile('boundary', [blank, ...lines]);
    const bytes = readFileSync(path);
    const boundary = 256 * 1024;
    expect(bytes[boundary - 1]).toBe(0x0d);
    expect(bytes[boundary]).toBe(0x0a);
    const back = await readAll(path);
    expect(strip(back)).toEqual(strip(rows));
    expect(back.map((r) => r.line)).toEqual(rows.map((_, i) => i + 2));
    const chunks = await billChunks(readUnionPayBill({ path }, opts));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat()).toStrictEqual(back);
    // Without the blank line the boundary falls inside a record.
    const mid = zmFile('mid', lines);
    expect(readFileSync(mid)[boundary]).not.toBe(0x0a);
    expect(strip(await readAll(mid))).toEqual(strip(rows));
  });

  it('reads a full last record without a line end, and refuses a cut-short one, wherever the file is cut into chunks', async () => {
    const rows = many.slice(0, 431);
    const lines = records(rows);
    const path = zmFile('no-end', lines, '');
    expect(readFileSync(path).length).toBeGreaterThan(256 * 1024);
    expect(strip(await readAll(path))).toEqual(strip(rows));
    const cutShort = zmFile('cut-short', [...lines.slice(0, -1), lines[lines.length - 1].slice(0, ZM_MIN_BYTES + 5)], '');
    expect((await failure(cutShort)).message).toContain(`:431: the record is cut short (${ZM_MIN_BYTES + 5} of ${ZM_RECORD_BYTES} bytes): the file is truncated`);
  });
});
