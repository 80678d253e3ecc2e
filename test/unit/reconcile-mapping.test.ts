import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillRow } from '../../src/channel/contract.js';
import { loadMapping, parseMapping } from '../../src/reconcile/mapping.js';
import { mappingBillReader } from '../../src/reconcile/mapping-reader.js';
import { compileTimeFormat, formatTime, timeParser, zoneConverter } from '../../src/reconcile/mapping-time.js';
import { tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const base = { columns: { ref: 'orderNo', amount: 'amount', time: 'time' }, currency: 'CNY' };

async function read(mappingJson: Record<string, unknown>, text: string | Buffer, options: { date?: string; merchantId?: string; zone?: string } = {}): Promise<BillRow[]> {
  const path = join(tmp.dir, `bill-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(path, text);
  const out: BillRow[] = [];
  const reader = mappingBillReader(parseMapping(mappingJson), { businessTimeZone: options.zone });
  for await (const r of reader.read({ path }, { date: options.date, merchantId: options.merchantId })) out.push(r);
  return out;
}

describe('parseMapping', () => {
  it('applies defaults', () => {
    expect(parseMapping(base)).toMatchObject({ delimiter: ',', encoding: 'utf-8', header: true, amountUnit: 'major', amountSign: 'signed', timeZone: 'UTC', timeFormat: 'iso', outsideDay: 'error' });
    expect(parseMapping({ ...base, delimiter: 'tab' }).delimiter).toBe('\t');
  });

  it('names what is wrong', () => {
    const cases: [unknown, RegExp][] = [
      ['x', /must be a JSON object/],
      [{ ...base, colums: {} }, /unknown key colums/],
      [{ ...base, columns: { a: 'orderNo', b: 'amount' } }, /no column feeds "time"/],
      [{ ...base, columns: { a: 'amount', b: 'time' } }, /orderNo" or "channelTradeNo"/],
      [{ ...base, columns: { ...base.columns, x: 'price' } }, /columns\["x"\] must be one of/],
      [{ ...base, columns: { ...base.columns, x: 'amount' } }, /two columns feed "amount"/],
      [{ ...base, currency: undefined }, /give "currency"/],
      [{ ...base, currency: 'RMB' }, /unknown currency RMB/],
      [{ ...base, encoding: 'latin1' }, /unsupported encoding/],
      [{ ...base, timeZone: 'Mars/Olympus' }, /unknown time zone/],
      [{ ...base, timeFormat: 'HH:mm' }, /no YYYY/],
      [{ ...base, columns: { ...base.columns, t: 'kind' } }, /"kinds" must give the words/],
      [{ ...base, kinds: { sale: ['S'] } }, /unknown kind "sale"/],
      [{ ...base, amountSign: 'kind' }, /needs a column that feeds "kind"/],
      [{ ...base, header: false }, /1-based positions/],
      [{ ...base, rowCount: 'Total (\\d+)' }, /set "skipFooterLines"/],
      [{ ...base, amountUnit: 'cents' }, /"amountUnit"/],
    ];
    for (const [raw, message] of cases) expect(() => parseMapping(raw), String(message)).toThrow(message);
  });

  it('loads a file, with clear errors for bad JSON', async () => {
    const path = join(tmp.dir, 'm.json');
    writeFileSync(path, '{"columns": ');
    await expect(loadMapping(path)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/not valid JSON/) });
    writeFileSync(path, JSON.stringify(base));
    expect((await loadMapping(path)).mapping.columns).toEqual(base.columns);
  });
});

describe('times', () => {
  it('parses patterns in the mapping zone, and offsets when the text has them', () => {
    expect(timeParser('YYYY-MM-DD HH:mm:ss', 'Asia/Shanghai')('2026-11-22 08:00:00')).toBe(Date.parse('2026-11-22T00:00:00Z'));
    expect(timeParser('DD/MM/YYYY H:mm', 'UTC')('05/01/2026 7:30')).toBe(Date.parse('2026-01-05T07:30:00Z'));
    expect(timeParser('YYYYMMDDHHmmss', 'Asia/Shanghai')('20261122000000')).toBe(Date.parse('2026-11-21T16:00:00Z'));
    expect(timeParser('YYYY-MM-DDTHH:mm:ss.SSSZ', 'Asia/Shanghai')('2026-11-22T10:00:00.5+02:00')).toBe(Date.parse('2026-11-22T08:00:00.500Z'));
    expect(timeParser('iso', 'Asia/Shanghai')('2026-11-22T08:00:00')).toBe(Date.parse('2026-11-22T00:00:00Z'));
    expect(timeParser('iso', 'Asia/Shanghai')('2026-11-22T08:00:00Z')).toBe(Date.parse('2026-11-22T08:00:00Z'));
    expect(timeParser('unix', 'UTC')('1763769600')).toBe(1763769600000);
    expect(timeParser('unixMs', 'UTC')('1763769600123')).toBe(1763769600123);
  });

  it('rejects impossible dates and text off the pattern', () => {
    expect(timeParser('YYYY-MM-DD', 'UTC')('2026-02-30')).toBeNaN();
    expect(timeParser('YYYY-MM-DD HH:mm:ss', 'UTC')('2026-11-22 24:00:00')).toBeNaN();
    expect(timeParser('YYYY-MM-DD HH:mm:ss', 'UTC')('22/11/2026 10:00:00')).toBeNaN();
    expect(timeParser('iso', 'UTC')('yesterday')).toBeNaN();
    expect(() => compileTimeFormat('YYYY-MM-DD YYYY')).toThrow(/twice/);
  });

  it('follows daylight saving time (Europe/London) hour by hour', () => {
    const toUtc = zoneConverter('Europe/London');
    // 2026-03-29 01:00 GMT clocks go forward; 2026-10-25 02:00 BST clocks go back.
    expect(toUtc(Date.UTC(2026, 2, 29, 0, 30))).toBe(Date.parse('2026-03-29T00:30:00Z'));
    expect(toUtc(Date.UTC(2026, 2, 29, 3, 0))).toBe(Date.parse('2026-03-29T02:00:00Z'));
    expect(toUtc(Date.UTC(2026, 6, 1, 12, 0))).toBe(Date.parse('2026-07-01T11:00:00Z'));
    expect(toUtc(Date.UTC(2026, 10, 22, 12, 0))).toBe(Date.parse('2026-11-22T12:00:00Z'));
  });

  it('formats what it parses', () => {
    const ms = Date.parse('2026-11-21T16:05:09.007Z');
    for (const [format, zone] of [
      ['YYYY-MM-DD HH:mm:ss.SSS', 'Asia/Shanghai'],
      ['DD/MM/YYYY HH:mm:ssZ', 'America/New_York'],
      ['iso', 'UTC'],
      ['unixMs', 'UTC'],
    ]) {
      const kept = format.includes('SSS') || format === 'iso' || format === 'unixMs' ? ms : Math.floor(ms / 1000) * 1000;
      expect(timeParser(format, zone)(formatTime(ms, format, zone)), format).toBe(kept);
    }
    expect(formatTime(ms, 'YYYY-MM-DD HH:mm:ss', 'Asia/Shanghai')).toBe('2026-11-22 00:05:09');
  });
});

describe('reading generic bills', () => {
  it('maps columns by header name, in any order, and fills defaults', async () => {
    const rows = await read(base, 'time,ignored,amount,ref\n2026-11-22T01:00:00Z,x,12.34,P000001\n2026-11-22T02:00:00Z,y,-5.00,P000001\n');
    expect(rows).toEqual([
      { line: 2, orderNo: 'P000001', channelTradeNo: undefined, kind: 'payment', refundNo: undefined, amountMinor: 1234, feeMinor: 0, currency: 'CNY', time: '2026-11-22T01:00:00.000Z', status: undefined },
      // Without a kind column, a negative amount is a refund.
      expect.objectContaining({ line: 3, kind: 'refund', amountMinor: -500 }),
    ]);
  });

  it('reads a bank statement: preamble, semicolons, GBK, kinds and signs, minor units, footer count', async () => {
    const iconv = (await import('iconv-lite')).default;
    const mapping = {
      delimiter: ';',
      encoding: 'gbk',
      skipLines: 2,
      skipFooterLines: 1,
      rowCount: '^合计;(\\d+)',
      commentPrefix: '--',
      columns: { 商户单号: 'orderNo', 流水号: 'channelTradeNo', 类型: 'kind', 退款单号: 'refundNo', 金额: 'amount', 手续费: 'fee', 币种: 'currency', 时间: 'time', 状态: 'status' },
      kinds: { payment: ['收款'], refund: ['退款'], fee: ['手续费'] },
      skipKinds: ['余额'],
      amountSign: 'kind',
      amountUnit: 'minor',
      timeFormat: 'YYYY-MM-DD HH:mm:ss',
      timeZone: 'Asia/Shanghai',
    };
    const text = [
      '某银行对账单',
      '账户: 6222',
      '商户单号;流水号;类型;退款单号;金额;手续费;币种;时间;状态',
      'P000001;B1;收款;;1234;7;CNY;2026-11-22 09:00:00;成功',
      '-- 注释行',
      'P000001;B2;退款;R000001;500;0;CNY;2026-11-22 10:00:00;成功',
      ';B3;余额;;99999;0;CNY;2026-11-22 23:59:59;',
      ';B4;手续费;;7;0;CNY;2026-11-22 23:59:59;',
      '合计;4',
    ].join('\r\n');
    const rows = await read(mapping, iconv.encode(text, 'gbk'), { date: '2026-11-22', zone: 'Asia/Shanghai' });
    expect(rows.map((r) => [r.line, r.kind, r.orderNo ?? null, r.refundNo ?? null, r.amountMinor, r.feeMinor, r.time, r.status])).toEqual([
      [4, 'payment', 'P000001', null, 1234, 7, '2026-11-22T01:00:00.000Z', '成功'],
      [6, 'refund', 'P000001', 'R000001', -500, 0, '2026-11-22T02:00:00.000Z', '成功'],
      [8, 'fee', null, null, -7, 0, '2026-11-22T15:59:59.000Z', undefined],
    ]);
    // The same file cut short: the footer count no longer agrees.
    const cut = text.split('\r\n').filter((l) => !l.startsWith(';B4')).join('\r\n');
    await expect(read(mapping, iconv.encode(cut, 'gbk'))).rejects.toThrow(/footer says 4 rows, the file has 3/);
    // Read as UTF-8: a wrong encoding, not garbage.
    await expect(read({ ...mapping, encoding: 'utf-8' }, iconv.encode(text, 'gbk'))).rejects.toThrow(/not valid UTF-8/);
  });

  it('reads files without a header by column position', async () => {
    const rows = await read({ header: false, columns: { '2': 'orderNo', '4': 'amount', '1': 'time' }, currency: 'JPY' }, '2026-11-22T00:00:00Z,P000002,x,1500\n');
    expect(rows).toMatchObject([{ orderNo: 'P000002', amountMinor: 1500, currency: 'JPY' }]);
  });

  it('rejects bad amounts, kinds, times, short lines, other days and other merchants with line numbers', async () => {
    const m = { ...base, columns: { ...base.columns, who: 'merchantId', k: 'kind' }, kinds: { payment: ['SALE'] } };
    const head = 'ref,amount,time,who,k\n';
    const good = 'P000001,1.00,2026-11-22T10:00:00Z,M1,SALE\n';
    const cases: [string, RegExp][] = [
      ['P000001,"1,000.00",2026-11-22T10:00:00Z,M1,SALE\n', /:3: amount "1,000.00" is not a decimal number/],
      ['P000001,abc,2026-11-22T10:00:00Z,M1,SALE\n', /:3: amount "abc" is not a decimal number/],
      ['P000001,1.001,2026-11-22T10:00:00Z,M1,SALE\n', /:3: amount 1.001 has 3 decimal places, but CNY has 2/],
      ['P000001,1.00,2026-11-22T10:00:00Z,M1,VOID\n', /:3: kind "VOID" is not in the mapping's "kinds"/],
      ['P000001,1.00,22.11.2026,M1,SALE\n', /:3: time "22.11.2026" does not fit/],
      ['P000001,1.00\n', /:3: expected at least 5 fields, found 2/],
      ['P000001,1.00,2026-11-23T10:00:00Z,M1,SALE\n', /:3: the row is dated 2026-11-23 \(UTC\); this bill should cover 2026-11-22/],
      ['P000001,1.00,2026-11-22T10:00:00Z,M2,SALE\n', /:3: the row belongs to merchant M2, not M1/],
    ];
    for (const [line, message] of cases) {
      await expect(read(m, head + good + line, { date: '2026-11-22', merchantId: 'M1' }), String(message)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(message) });
    }
    // outsideDay "skip" keeps only the day's rows.
    expect(await read({ ...m, outsideDay: 'skip' }, head + good + cases[6][0], { date: '2026-11-22' })).toHaveLength(1);
  });

  it('rejects an empty file and a file without its header', async () => {
    await expect(read(base, '')).rejects.toThrow(/is empty/);
    await expect(read(base, 'P1,1.00,2026-11-22T00:00:00Z\n')).rejects.toThrow(/the header lacks columns "ref", "amount", "time"/);
  });

  it('writes the format it reads (round trip through every option)', async () => {
    const mapping = parseMapping({
      delimiter: '\t',
      encoding: 'utf-16le',
      skipLines: 1,
      skipFooterLines: 1,
      rowCount: '^Total rows\\t(\\d+)$',
      columns: { Ref: 'orderNo', Trade: 'channelTradeNo', Kind: 'kind', Refund: 'refundNo', Amount: 'amount', Fee: 'fee', Ccy: 'currency', When: 'time', St: 'status' },
      kinds: { payment: ['P'], refund: ['R'], payout: ['O'] },
      amountSign: 'kind',
      timeFormat: 'YYYY/MM/DD HH:mm:ss',
      timeZone: 'America/New_York',
    });
    const rows: BillRow[] = [
      { line: 0, orderNo: 'P000001', channelTradeNo: 'T, "quoted"', kind: 'payment', amountMinor: 1234, feeMinor: 7, currency: 'USD', time: '2026-11-22T15:00:00.000Z', status: 'ok' },
      { line: 0, orderNo: 'P000001', kind: 'refund', refundNo: 'R000001', amountMinor: -234, feeMinor: 0, currency: 'USD', time: '2026-11-22T16:00:00.000Z' },
      { line: 0, orderNo: 'T000001', kind: 'payout', amountMinor: -5000, feeMinor: 25, currency: 'KWD', time: '2026-11-22T17:00:00.000Z' },
    ];
    const path = join(tmp.dir, 'round.tsv');
    await mappingBillReader(mapping).write!(path, rows, { date: '2026-11-22' });
    expect(readFileSync(path).subarray(0, 2).toString('utf16le')).toBe('S');
    const back: BillRow[] = [];
    for await (const r of mappingBillReader(mapping, { businessTimeZone: 'America/New_York' }).read({ path }, { date: '2026-11-22' })) back.push(r);
    expect(back.map(({ line: _l, ...r }) => r)).toEqual(rows.map(({ line: _l, ...r }) => ({ channelTradeNo: undefined, refundNo: undefined, status: undefined, ...r })));
  });
});
