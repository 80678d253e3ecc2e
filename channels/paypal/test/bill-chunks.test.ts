/**
 * PayPal statements a chunk at a time: `batches()` hands over exactly the rows read one by one
 * (STL, UTF-16 STL, transactions JSON lines), through the module the registry loads too; and every
 * fast path of the reader (plain amounts, repeated times, event codes and currencies, the totals
 * of the last currency) falls back to the exact, checking way for anything unusual.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchedBillRows, BillRow } from '../../../src/channel/contract.js';
import { billChunks, billRefusal, expectChunkedLikeOneByOne, readBillRows } from '../../../test/helpers/bills.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { paypalBills, readPaypalBill, STL_COLUMNS, transactionRow } from '../bill.js';
import paypal from '../index.js';

const { dir, cleanup } = tempDir('pay-paypal-bill-chunks-');
afterAll(cleanup);

const day = '2026-11-23';
const file = (name: string) => join(dir, name);
const readAll = (path: string, options: { date?: string; merchantId?: string } = {}) => readBillRows(readPaypalBill, path, options);
const refusal = async (path: string, options: { date?: string; merchantId?: string } = {}) => (await billRefusal(readPaypalBill, path, options)).message;
/** A row without what differs between the shapes (the line, and the status: T-code or S). */
const strip = (r: BillRow) => ({ kind: r.kind, orderNo: r.orderNo, refundNo: r.refundNo, channelTradeNo: r.channelTradeNo, amountMinor: r.amountMinor, feeMinor: r.feeMinor, currency: r.currency, time: r.time });

const base = Date.parse(`${day}T00:00:00.000Z`);
// 4,000 rows, two to a second (the reader reuses the last time converted), every tenth a refund,
// every seventh in JPY (two implied decimals in the STL: the exact conversion), between USD rows.
const many: BillRow[] = Array.from({ length: 4000 }, (_, i) => {
  const refund = i % 10 === 9;
  const jpy = i % 7 === 3;
  return {
    line: 0,
    orderNo: `P${String(refund ? i - 1 : i).padStart(8, '0')}`,
    channelTradeNo: `TX${String(i).padStart(15, '0')}`,
    kind: refund ? 'refund' : 'payment',
    refundNo: refund ? `R${i}` : undefined,
    amountMinor: (refund ? -1 : 1) * ((i % 9000) + 1) * (jpy ? 1 : 3),
    feeMinor: refund ? -(i % 3) || 0 : i % 7,
    currency: jpy ? 'JPY' : 'USD',
    time: new Date(base + Math.floor(i / 2) * 1000).toISOString(),
  };
});

describe('reading a chunk at a time', () => {
  for (const variant of ['stl', 'stl-utf16', 'transactions'] as const) {
    it(`${variant}: batches() hands over the rows read one by one, in several chunks, and so does the module the registry loads`, async () => {
      const path = file(`many.${variant}`);
      await paypalBills.write!(path, many, { date: day, merchantId: 'ACCT1', variant });
      const one = await readAll(path, { date: day, merchantId: 'ACCT1' });
      expect(one.map(strip)).toEqual(many.map(strip));
      // STL rows start after RH, FH, SH, CH; JSON lines after the header line.
      const firstLine = variant === 'transactions' ? 2 : 5;
      expect(one.map((r) => r.line)).toEqual(many.map((_, i) => i + firstLine));
      // Reconciliation reads through the channel module, whose bill reader is imported on first use.
      await expectChunkedLikeOneByOne(readPaypalBill({ path }, { date: day, merchantId: 'ACCT1' }), paypal.bill!.read({ path }, { date: day, merchantId: 'ACCT1' }), one);
    });
  }

  it('refuses a bad date or an empty file from batches() as from row-by-row reading', async () => {
    const path = file('small.CSV');
    await paypalBills.write!(path, many.slice(0, 5), { date: day });
    await expect(billChunks(readPaypalBill({ path }, { date: '2026-11-22' }))).rejects.toThrow(/report for 2026-11-23, not 2026-11-22/);
    await expect(billChunks(readPaypalBill({ path }, { date: '2026-13-40' }))).rejects.toThrow(/is not a date/);
    const empty = file('empty.CSV');
    writeFileSync(empty, '\r\n  \r\n');
    await expect(billChunks(readPaypalBill({ path: empty }, {}))).rejects.toThrow(/empty/);
  });
});

describe('STL fast paths fall back to the exact way', () => {
  const rows = many.slice(0, 12).map((r) => ({ ...r, currency: 'USD', amountMinor: Math.abs(r.amountMinor) * (r.kind === 'refund' ? -1 : 1) }));
  const col = (name: (typeof STL_COLUMNS)[number]) => STL_COLUMNS.indexOf(name) + 1;
  /** The written report's lines, and the index of the first SB line (line number index + 1). */
  const written = async (name: string, rs: BillRow[] = rows) => {
    const path = file(name);
    await paypalBills.write!(path, rs, { date: day });
    const lines = readFileSync(path, 'utf8').trim().split('\r\n');
    return { lines, sb: lines.findIndex((l) => l.startsWith('"SB"')) };
  };
  const setField = (line: string, name: (typeof STL_COLUMNS)[number], value: string) => {
    const f = line.split(',');
    f[col(name)] = value;
    return f.join(',');
  };
  const save = (name: string, lines: string[]) => {
    const p = file(name);
    writeFileSync(p, `${lines.join('\r\n')}\r\n`);
    return p;
  };

  it('reads amounts, directions and times in unusual but valid forms as before', async () => {
    const { lines, sb } = await written('unusual-base.CSV');
    const edited = [...lines];
    // 16 zero-padded digits: past the plain path, the same amount by stlMinor (and in the totals).
    edited[sb] = setField(edited[sb], 'Gross Transaction Amount', `"${String(Math.abs(rows[0].amountMinor)).padStart(16, '0')}"`);
    // Lower-case and padded directions.
    edited[sb + 1] = setField(setField(edited[sb + 1], 'Transaction  Debit or Credit', '" cr "'), 'Fee Debit or Credit', '"dr"');
    // No fee at all (an empty cell): 0, whatever the fee direction says.
    edited[sb + 2] = setField(setField(edited[sb + 2], 'Fee Amount', ''), 'Fee Debit or Credit', '"??"');
    // The same instant as row 3's time written in another offset, then a third row's own time
    // in -0800: each converted, not taken from the row before.
    expect(edited[sb + 3]).toContain('2026/11/23 00:00:01 +0000');
    edited[sb + 3] = setField(edited[sb + 3], 'Transaction Initiation Date', '2026/11/23 01:00:01 +0100');
    edited[sb + 4] = setField(edited[sb + 4], 'Transaction Initiation Date', '2026/11/22 16:00:05 -0800');
    edited[sb + 5] = setField(edited[sb + 5], 'Transaction Initiation Date', '2026/11/22 16:00:05 -08:00');
    const fees = rows.map((r) => r.feeMinor);
    // The row whose fee was blanked: the footers must lose its fee too.
    edited.forEach((l, i) => {
      if (/^"(SF|RF)"/.test(l)) {
        const f = l.split(',');
        if (rows[2].feeMinor > 0) f[5] = String(Number(f[5]) - rows[2].feeMinor);
        else f[4] = String(Number(f[4]) + rows[2].feeMinor);
        edited[i] = f.join(',');
      }
    });
    const back = await readAll(save('unusual.CSV', edited), { date: day });
    const expected = rows.map(strip);
    expected[2].feeMinor = 0;
    expected[4].time = '2026-11-23T00:00:05.000Z';
    expected[5].time = '2026-11-23T00:00:05.000Z';
    expect(fees[2]).not.toBe(0);
    expect(back.map(strip)).toEqual(expected);
    expect(back[3].time).toBe('2026-11-23T00:00:01.000Z');
  });

  it('converts JPY amounts exactly between USD and TWD rows, the totals of each currency kept apart', async () => {
    const mixed: BillRow[] = rows.map((r, i) => (i % 3 === 1 ? { ...r, currency: 'JPY', amountMinor: Math.sign(r.amountMinor) * 1500, feeMinor: r.kind === 'refund' ? 0 : 92 } : i % 3 === 2 ? { ...r, currency: 'TWD', amountMinor: Math.sign(r.amountMinor) * 30_000, feeMinor: r.kind === 'refund' ? 0 : 1100 } : r));
    const { lines, sb } = await written('mixed.CSV', mixed);
    expect(lines[sb + 1]).toMatch(/,150000,"JPY","DR",9200,"JPY"/);
    const back = await readAll(save('mixed-again.CSV', lines), { date: day });
    expect(back.map(strip)).toEqual(mixed.map(strip));
    // A JPY amount with a fraction JPY cannot hold is refused on its line, after plain USD rows.
    const at = sb + 4;
    expect(lines[at]).toContain('"JPY"');
    const bad = lines.map((l, i) => (i === at ? setField(l, 'Gross Transaction Amount', '150050') : l));
    expect(await refusal(save('jpy-fraction.CSV', bad))).toMatch(new RegExp(`:${at + 1}: Gross Transaction Amount 150050 \\(JPY\\) has a fraction JPY cannot hold`));
    // A JPY footer off by one is caught although USD rows come between the JPY ones.
    const sf = lines.map((l) => (l.startsWith('"SF","JPY"') ? l.replace('"SF","JPY",', '"SF","JPY",1') : l));
    expect(await refusal(save('jpy-sf.CSV', sf))).toMatch(/section footer \(SF\) says grossCredit 1\d+ JPY/);
  });

  it('keeps each section\'s totals apart when the same currency is in two sections', async () => {
    const a = rows.slice(0, 5);
    const b = rows.slice(5);
    const one = (await written('sec-a.CSV', a)).lines;
    const two = (await written('sec-b.CSV', b)).lines;
    const all = (await written('sec-all.CSV', rows)).lines;
    const upToSc = (ls: string[], from: number) => ls.slice(from, ls.findIndex((l) => l.startsWith('"SC"')) + 1);
    const combined = [...upToSc(one, 0), ...upToSc(two, 2), ...all.slice(all.findIndex((l) => l.startsWith('"RF"')))];
    expect(combined.filter((l) => l.startsWith('"SH"'))).toHaveLength(2);
    const back = await readAll(save('sections.CSV', combined), { date: day });
    expect(back.map(strip)).toEqual(rows.map(strip));
    // The second section's footer holding the whole report's totals is refused.
    const sfAll = all.find((l) => l.startsWith('"SF","USD"'))!;
    let seen = 0;
    const wrong = combined.map((l) => (l.startsWith('"SF","USD"') && seen++ === 1 ? sfAll : l));
    expect(await refusal(save('sections-bad.CSV', wrong))).toMatch(/section footer \(SF\) says grossCredit \d+ USD, the rows add up to \d+/);
  });

  it('refuses a malformed amount, direction, code, currency or time on its line, also after rows that had valid ones', async () => {
    const { lines, sb } = await written('bad-base.CSV');
    const at = sb + 5; // after five good rows with the same code and currency, the last with the same time
    const lineNo = at + 1;
    const edit = (name: string, change: (line: string) => string, index = at) => save(name, lines.map((l, i) => (i === index ? change(l) : l)));
    expect(lines[at - 1]).toContain(lines[at].split(',')[col('Transaction Initiation Date')]);
    const cases: [string, (l: string) => string, RegExp][] = [
      ['separators', (l) => setField(l, 'Gross Transaction Amount', '"10,000"'), /Gross Transaction Amount "10,000" is not an unsigned integer amount/],
      ['negative', (l) => setField(l, 'Gross Transaction Amount', '-100'), /Gross Transaction Amount "-100" is not an unsigned integer amount/],
      ['decimal-fee', (l) => setField(l, 'Fee Amount', '1.50'), /Fee Amount "1.50" is not an unsigned integer amount/],
      ['eighteen-digits', (l) => setField(l, 'Gross Transaction Amount', '123456789012345678'), /Gross Transaction Amount "123456789012345678" is not an unsigned integer amount/],
      ['direction', (l) => setField(l, 'Transaction  Debit or Credit', '"XX"'), /Transaction Debit or Credit "XX" is neither CR nor DR/],
      ['fee-direction', (l) => setField(l, 'Fee Debit or Credit', '""'), /Fee Debit or Credit "" is neither CR nor DR/],
      ['code', (l) => setField(l, 'Transaction Event Code', '"T006"'), /"T006" is not a transaction event code/],
      ['no-code', (l) => setField(l, 'Transaction Event Code', '""'), /"" is not a transaction event code/],
      ['currency', (l) => setField(l, 'Gross Transaction Currency', '"XXQ"'), /unknown currency "XXQ"/],
      ['no-currency', (l) => setField(l, 'Gross Transaction Currency', '""'), /unknown currency ""/],
      ['fee-currency', (l) => setField(l, 'Fee Currency', '"EUR"'), /fee in EUR on a USD transaction is not supported/],
      ['time', (l) => setField(l, 'Transaction Initiation Date', '2026-11-23 00:00:02 +0000'), /"2026-11-23 00:00:02 \+0000" is not a report time/],
    ];
    for (const [name, change, re] of cases) {
      const message = await refusal(edit(`bad-${name}.CSV`, change));
      expect(message, name).toMatch(new RegExp(`:${lineNo}: `));
      expect(message, name).toMatch(re);
    }
    // On the very first row too: an empty code, an empty currency or time is never taken as the last one checked.
    expect(await refusal(edit('first-no-code.CSV', (l) => setField(l, 'Transaction Event Code', '""'), sb))).toMatch(new RegExp(`:${sb + 1}: "" is not a transaction event code`));
    expect(await refusal(edit('first-no-currency.CSV', (l) => setField(l, 'Gross Transaction Currency', '""'), sb))).toMatch(new RegExp(`:${sb + 1}: unknown currency ""`));
    expect(await refusal(edit('first-no-time.CSV', (l) => setField(l, 'Transaction Initiation Date', ''), sb))).toMatch(new RegExp(`:${sb + 1}: "" is not a report time`));
  });
});

describe('transactions fast paths fall back to the exact way', () => {
  const rows = many.slice(0, 12).map((r) => ({ ...r, currency: 'USD' }));
  const written = async (name: string) => {
    const path = file(name);
    await paypalBills.write!(path, rows, { date: day, variant: 'transactions' });
    return readFileSync(path, 'utf8').trim().split('\n');
  };
  const editInfo = (line: string, change: (info: Record<string, unknown>) => void) => {
    const obj = JSON.parse(line) as { transaction_info: Record<string, unknown> };
    change(obj.transaction_info);
    return JSON.stringify(obj);
  };
  const save = (name: string, lines: string[]) => {
    const p = file(name);
    writeFileSync(p, `${lines.join('\n')}\n`);
    return p;
  };

  it('reads values and times in unusual but valid forms as the exact parser does, line for line', async () => {
    const lines = await written('tx-unusual-base.jsonl');
    const value = (v: unknown, currency = 'USD') => (info: Record<string, unknown>) => {
      info.transaction_amount = { currency_code: currency, value: v };
      if (currency !== 'USD') delete info.fee_amount;
    };
    const edits: [number, (info: Record<string, unknown>) => void][] = [
      [2, value('1000')], // no decimals
      [3, value('100.5')], // one decimal
      [4, value('100.500')], // trailing zeros
      [5, value(' 7.25 ')], // padded
      [6, value('0012.30')], // leading zeros
      [7, value('1500', 'JPY')], // exponent 0, the plain path
      [8, value('1500.00', 'JPY')], // exponent 0 with zero decimals
      [9, value('300', 'TWD')], // PayPal 0 decimals, pay 2: the exact way always
      [
        10,
        (info) => {
          // A minus zero, as parseAmount reads it (-0 gross: a credit, so not a refund).
          info.transaction_amount = { currency_code: 'USD', value: '-0.00' };
          info.fee_amount = { currency_code: 'USD', value: '-0.00' };
          info.transaction_initiation_date = '2026-11-23T01:00:04+0100'; // row 8's instant in another offset
        },
      ],
      [11, (info) => (info.transaction_initiation_date = '2026-11-22T16:00:05-0800')],
      [12, (info) => (info.transaction_initiation_date = '2026-11-23T00:00:05.000Z')],
    ];
    const edited = lines.map((l, i) => {
      const e = edits.find(([k]) => k === i);
      return e ? editInfo(l, e[1]) : l;
    });
    const back = await readAll(save('tx-unusual.jsonl', edited), { date: day });
    // Every row as the stateless, always-exact transactionRow makes it.
    expect(back).toEqual(edited.slice(1, -1).map((l, i) => transactionRow(JSON.parse(l) as Record<string, unknown>, i + 2)));
    expect(back.map((r) => [r.amountMinor, r.currency])).toEqual([
      [rows[0].amountMinor, 'USD'],
      [100_000, 'USD'],
      [10_050, 'USD'],
      [10_050, 'USD'],
      [725, 'USD'],
      [1230, 'USD'],
      [1500, 'JPY'],
      [1500, 'JPY'],
      [30_000, 'TWD'],
      [-0, 'USD'],
      [rows[10].amountMinor, 'USD'],
      [rows[11].amountMinor, 'USD'],
    ]);
    expect(Object.is(back[9].amountMinor, -0)).toBe(true);
    expect(back[9]).toMatchObject({ kind: 'adjustment', feeMinor: 0 });
    expect(back.slice(8).map((r) => r.time)).toEqual(['2026-11-23T00:00:04.000Z', '2026-11-23T00:00:04.000Z', '2026-11-23T00:00:05.000Z', '2026-11-23T00:00:05.000Z']);
  });

  it('refuses a malformed value, code or time on its line, also after lines that had valid ones', async () => {
    const lines = await written('tx-bad-base.jsonl');
    const at = 6; // after five good lines with the same code and currency, the last with the same time
    const lineNo = at + 1;
    expect(JSON.parse(lines[at - 1]).transaction_info.transaction_initiation_date).toBe(JSON.parse(lines[at]).transaction_info.transaction_initiation_date);
    const cases: [string, (info: Record<string, unknown>) => void, RegExp][] = [
      ['separators', (i) => (i.transaction_amount = { currency_code: 'USD', value: '1,000.00' }), /transaction_amount "1,000.00" is not a decimal number/],
      ['places', (i) => (i.transaction_amount = { currency_code: 'USD', value: '1.234' }), /transaction_amount 1.234 has 3 decimal places, but USD has 2/],
      ['exponent', (i) => (i.transaction_amount = { currency_code: 'USD', value: '1e3' }), /transaction_amount "1e3" is not a decimal number/],
      ['sign-only', (i) => (i.transaction_amount = { currency_code: 'USD', value: '-.00' }), /transaction_amount "-.00" is not a decimal number/],
      ['empty', (i) => (i.transaction_amount = { currency_code: 'USD', value: '' }), /transaction_amount is empty/],
      ['jpy-fraction', (i) => (i.transaction_amount = { currency_code: 'JPY', value: '1500.5' }), /transaction_amount 1500.5 has 1 decimal place, but JPY has 0/],
      ['fee', (i) => (i.fee_amount = { currency_code: 'USD', value: '-0.0x' }), /fee_amount "-0.0x" is not a decimal number/],
      ['code', (i) => (i.transaction_event_code = 'T006'), /"T006" is not a transaction event code/],
      ['no-code', (i) => delete i.transaction_event_code, /"" is not a transaction event code/],
      ['time', (i) => (i.transaction_initiation_date = '2026-11-23 25:00'), /transaction_initiation_date is not a time/],
      ['no-time', (i) => delete i.transaction_initiation_date, /transaction_initiation_date is not a time/],
    ];
    for (const [name, change, re] of cases) {
      const message = await refusal(save(`tx-bad-${name}.jsonl`, lines.map((l, i) => (i === at ? editInfo(l, change) : l))));
      expect(message, name).toMatch(new RegExp(`:${lineNo}: `));
      expect(message, name).toMatch(re);
    }
    // On the very first line too: no code or time is never taken as the last one checked.
    for (const change of [(i: Record<string, unknown>) => delete i.transaction_event_code, (i: Record<string, unknown>) => delete i.transaction_initiation_date]) {
      expect(await refusal(save('tx-first.jsonl', lines.map((l, i) => (i === 1 ? editInfo(l, change) : l))))).toMatch(/:2: ("" is not a transaction event code|transaction_initiation_date is not a time)/);
    }
  });
});
