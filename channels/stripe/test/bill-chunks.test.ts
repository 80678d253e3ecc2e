/**
 * Stripe statements read a chunk of the file at a time (`batches()`, what reconciliation's packer
 * takes), and the shortcuts the reader takes per row: amounts of the usual shape converted in one
 * pass, the currency, time and day of the previous row reused, the ISO text of a time built from
 * its day. Each shortcut has its exact fallback exercised here: an unusual but valid cell reads
 * as it always did, an invalid one is refused naming the line, a repeated cell followed by a
 * different one is checked again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchedBillRows, BillRow } from '../../../src/channel/contract.js';
import { isoUtc } from '../../../src/core/time.js';
import { billChunks, billRefusal, expectChunkedLikeOneByOne, readBillRows } from '../../../test/helpers/bills.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { balanceTransactionRow, readStripeBill, StripeRowCache, stripeBills } from '../bill.js';
import stripe from '../index.js';

const { dir, cleanup } = tempDir('pay-stripe-bill-chunks-');
afterAll(cleanup);

type Options = { date?: string; merchantId?: string; timeZone?: string };
const readAll = (path: string, options: Options = {}) => readBillRows(readStripeBill, path, options);
const refusal = async (path: string, options: Options = {}) => (await billRefusal(readStripeBill, path, options)).message;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('reading a chunk at a time', () => {
  const day = '2026-11-23';
  const base = Date.parse(`${day}T00:00:00.000Z`);
  // 5,000 rows, three to a second (the reader reuses the last time converted), every tenth a
  // refund, a fee on most payments.
  const many: BillRow[] = Array.from({ length: 5000 }, (_, i) => {
    const refund = i % 10 === 9;
    return {
      line: 0,
      orderNo: `P${String(refund ? i - 1 : i).padStart(8, '0')}`,
      refundNo: refund ? `R${i}` : undefined,
      channelTradeNo: `${refund ? 're' : 'pi'}_${String(i).padStart(24, '0')}`,
      kind: refund ? 'refund' : 'payment',
      amountMinor: refund ? -(i % 500) - 1 : (i % 9000) + 1,
      feeMinor: refund ? 0 : i % 7,
      currency: 'USD',
      time: new Date(base + Math.floor(i / 3) * 1000).toISOString(),
    };
  });
  const strip = (r: BillRow) => ({ kind: r.kind, orderNo: r.orderNo, refundNo: r.refundNo, channelTradeNo: r.channelTradeNo, amountMinor: r.amountMinor, feeMinor: r.feeMinor, currency: r.currency, time: r.time });

  for (const variant of ['itemized', 'balance-transactions'] as const) {
    it(`${variant}: batches() hands over the rows read one by one, in several chunks, and so does the module the registry loads`, async () => {
      const path = join(dir, variant === 'itemized' ? 'many.csv' : 'many.jsonl');
      await stripeBills.write!(path, many, { date: day, variant });
      const one = await readAll(path, { date: day });
      expect(one.map(strip)).toEqual(many.map(strip));
      // Line 1 is the header (the column names, or the pay.stripe_bill line).
      expect(one.map((r) => r.line)).toEqual(many.map((_, i) => i + 2));
      // Reconciliation reads through the channel module, whose bill reader is imported on first use.
      await expectChunkedLikeOneByOne(readStripeBill({ path }, { date: day }), stripe.bill!.read({ path }, { date: day }), one);
      // A foreign day is refused whichever way the file is read.
      await expect(billChunks(readStripeBill({ path }, { date: '2026-11-24' }))).rejects.toThrow(/2026-11-23\b.*\b2026-11-24/);
    });
  }
});

describe('itemized report: shortcuts and their fallbacks', () => {
  const header = 'balance_transaction_id,created_utc,created,currency,gross,fee,net,reporting_category';
  const row = (i: number, utc: string, local: string, currency: string, gross: string, fee: string, net: string, category = 'charge') =>
    `txn_${i},${utc},${local},${currency},${gross},${fee},${net},${category}`;
  const T = '2026-11-23 10:00:00';

  it('reads amounts in any exact form as the exact parser does (padded, short or extra zero decimals, leading zeros, -0.00, other exponents)', async () => {
    const path = file(
      'forms.csv',
      [
        header,
        row(1, T, T, 'usd', '10.00', '0.30', '9.70'), // the usual shape
        row(2, T, T, 'usd', '10', '0.3', '9.7'), // fewer decimals
        row(3, T, T, 'usd', '"  10.00 "', '0.300', '009.70'), // padded, a trailing zero, leading zeros
        row(4, T, T, 'usd', '-0.00', '0.00', '0.00', 'other_adjustment'),
        row(5, T, T, 'jpy', '1500', '54', '1446'),
        row(6, T, T, 'jpy', '1500.00', '54.0', '1446'), // zero decimals on a whole-unit currency
        row(7, T, T, 'kwd', '12.340', '0.660', '11.680'),
        row(8, T, T, 'huf', '2500.00', '73.00', '2427.00'), // Stripe's HUF "cents", pay's whole forints
        row(9, T, T, 'huf', '2500', '73', '2427'),
        row(10, T, T, 'usd', '90071992547.40', '0.00', '90071992547.40'), // 13 digits: still the usual shape
        '',
      ].join('\n'),
    );
    const rows = await readAll(path, { date: '2026-11-23' });
    expect(rows.map((r) => [r.line, r.currency, r.amountMinor, r.feeMinor])).toEqual([
      [2, 'USD', 1000, 30],
      [3, 'USD', 1000, 30],
      [4, 'USD', 1000, 30],
      [5, 'USD', -0, 0],
      [6, 'JPY', 1500, 54],
      [7, 'JPY', 1500, 54],
      [8, 'KWD', 12_340, 660],
      [9, 'HUF', 2500, 73],
      [10, 'HUF', 2500, 73],
      [11, 'USD', 9_007_199_254_740, 0],
    ]);
    // core/money gives -0 for "-0.00"; the shortcut keeps that.
    expect(Object.is(rows[3].amountMinor, -0)).toBe(true);
    expect({ ...rows[1], line: 2 }).toEqual(rows[0]);
    expect({ ...rows[2], line: 2 }).toEqual(rows[0]);
  });

  it('refuses a malformed amount after good ones with the exact parser\'s message, naming the line', async () => {
    const good = [row(1, T, T, 'usd', '10.00', '0.30', '9.70'), row(2, T, T, 'usd', '10.00', '0.30', '9.70')];
    const cases: [string, string, RegExp][] = [
      ['exponent', row(3, T, T, 'usd', '1e3', '0.00', '1e3'), /:4: gross "1e3" is not a decimal number/],
      ['plus', row(3, T, T, 'usd', '+1.00', '0.00', '1.00'), /:4: gross "\+1\.00" is not a decimal number/],
      ['leading point', row(3, T, T, 'usd', '.50', '0.00', '0.50'), /:4: gross "\.50" is not a decimal number/],
      ['three decimals', row(3, T, T, 'usd', '1.001', '0.00', '1.001'), /:4: gross 1\.001 has 3 decimal places, but USD has 2/],
      ['jpy decimals', row(3, T, T, 'jpy', '10.50', '0', '10.50'), /:4: gross 10\.50 has 2 decimal places, but JPY has 0/],
      // 16 digits: past what the one-pass conversion takes; the exact parser refuses it.
      ['too large', row(3, T, T, 'usd', '99999999999999.99', '0.00', '99999999999999.99'), /:4: gross 99999999999999\.99 USD is too large/],
      ['empty', row(3, T, T, 'usd', '', '0.00', '0.00'), /:4: gross is empty/],
      ['fee', row(3, T, T, 'usd', '10.00', '0.3x', '9.70'), /:4: fee "0\.3x" is not a decimal number/],
      // The usual shape, but HUF "cents" that are not whole forints.
      ['huf fraction', row(3, T, T, 'huf', '2500.50', '0.00', '2500.50'), /:4: Stripe amount 250050 \(HUF, in Stripe's units\) has a fraction/],
      ['net', row(3, T, T, 'usd', '10.00', '0.30', '9.80'), /:4: net 9\.80 is not gross 10\.00 minus fee 0\.30/],
    ];
    for (const [name, bad, re] of cases) {
      const path = file(`bad-${name.replace(/ /g, '-')}.csv`, [header, ...good, bad, ''].join('\n'));
      expect(await refusal(path), name).toMatch(re);
    }
  });

  it('checks the currency again when it changes after repeated rows', async () => {
    const rows = [row(1, T, T, 'usd', '1.00', '0.00', '1.00'), row(2, T, T, 'usd', '1.00', '0.00', '1.00'), row(3, T, T, 'USD', '1.00', '0.00', '1.00'), row(4, T, T, 'eur', '1.00', '0.00', '1.00')];
    const good = await readAll(file('currencies.csv', [header, ...rows, ''].join('\n')));
    expect(good.map((r) => r.currency)).toEqual(['USD', 'USD', 'USD', 'EUR']);
    expect(await refusal(file('currency-late.csv', [header, ...rows, row(5, T, T, 'xyz', '1.00', '0.00', '1.00'), ''].join('\n')))).toMatch(/:6: unknown currency "xyz"/);
    expect(await refusal(file('currency-empty.csv', [header, rows[0], row(2, T, T, '', '1.00', '0.00', '1.00'), ''].join('\n')))).toMatch(/:3: unknown currency ""/);
    // After a different (valid) currency, the first one is checked and converted again.
    const back = await readAll(file('currency-back.csv', [header, row(1, T, T, 'jpy', '100', '0', '100'), row(2, T, T, 'usd', '100', '0', '100'), row(3, T, T, 'jpy', '100', '0', '100'), ''].join('\n')));
    expect(back.map((r) => [r.currency, r.amountMinor])).toEqual([['JPY', 100], ['USD', 10_000], ['JPY', 100]]);
  });

  it('parses and checks a time again when it differs from the repeated one before it', async () => {
    const same = [row(1, T, T, 'usd', '1.00', '0.00', '1.00'), row(2, T, T, 'usd', '1.00', '0.00', '1.00')];
    // created_utc repeated, then another second, then one that is not a time.
    const later = await readAll(file('times.csv', [header, ...same, row(3, '2026-11-23 10:00:01', T, 'usd', '1.00', '0.00', '1.00'), row(4, '2026-11-23T10:00:01Z', T, 'usd', '1.00', '0.00', '1.00'), ''].join('\n')), { date: '2026-11-23' });
    expect(later.map((r) => r.time)).toEqual(['2026-11-23T10:00:00.000Z', '2026-11-23T10:00:00.000Z', '2026-11-23T10:00:01.000Z', '2026-11-23T10:00:01.000Z']);
    expect(await refusal(file('time-bad.csv', [header, ...same, row(3, '2026-11-23 1O:00:00', T, 'usd', '1.00', '0.00', '1.00'), ''].join('\n')))).toMatch(/:4: "2026-11-23 1O:00:00" is not a time/);
    expect(await refusal(file('time-empty.csv', [header, ...same, row(3, '', '', 'usd', '1.00', '0.00', '1.00'), ''].join('\n')))).toMatch(/:4: "" is not a time/);
    // The local `created` column repeated, then a row of the next day.
    expect(await refusal(file('local-day.csv', [header, ...same, row(3, '2026-11-24 08:00:00', '2026-11-24 00:00:00', 'usd', '1.00', '0.00', '1.00'), ''].join('\n')), { date: '2026-11-23' })).toMatch(
      /:4: the row is dated 2026-11-24, but the bill should cover 2026-11-23/,
    );
  });

  it('without a local created column, places each new time in the bill\'s zone (UTC by the ISO text, another zone by its offset)', async () => {
    const h = 'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category';
    const r = (i: number, utc: string) => `txn_${i},${utc},usd,1.00,0.00,1.00,charge`;
    const utcRows = [r(1, '2026-11-23 23:59:58'), r(2, '2026-11-23 23:59:58'), r(3, '2026-11-23 23:59:59')];
    const ok = await readAll(file('utc-day.csv', [h, ...utcRows, ''].join('\n')), { date: '2026-11-23' });
    expect(ok.map((x) => x.time)).toEqual(['2026-11-23T23:59:58.000Z', '2026-11-23T23:59:58.000Z', '2026-11-23T23:59:59.000Z']);
    const next = file('utc-next.csv', [h, ...utcRows, r(4, '2026-11-24 00:00:00'), ''].join('\n'));
    expect(await refusal(next, { date: '2026-11-23' })).toMatch(/:5: the row is dated 2026-11-24 \(UTC\), but the bill should cover 2026-11-23/);
    // 2026-11-24 03:00 UTC is the 23rd in Los Angeles, 04:00 UTC still is, 08:00 UTC is the 24th.
    const la = [r(1, '2026-11-24 03:00:00'), r(2, '2026-11-24 03:00:00'), r(3, '2026-11-24 04:00:00')];
    expect(await readAll(file('la.csv', [h, ...la, ''].join('\n')), { date: '2026-11-23', timeZone: 'America/Los_Angeles' })).toHaveLength(3);
    expect(await refusal(file('la-next.csv', [h, ...la, r(4, '2026-11-24 08:00:00'), ''].join('\n')), { date: '2026-11-23', timeZone: 'America/Los_Angeles' })).toMatch(
      /:5: the row is dated 2026-11-24 \(America\/Los_Angeles\), but the bill should cover 2026-11-23/,
    );
    // With only a local created column, its text is parsed in the bill's zone.
    const local = file('local-only.csv', 'balance_transaction_id,created,currency,gross,fee,net,reporting_category\ntxn_1,2026-11-23 19:00:00,usd,1.00,0.00,1.00,charge\ntxn_2,2026-11-23 19:00:00,usd,1.00,0.00,1.00,charge\n');
    expect((await readAll(local, { date: '2026-11-23', timeZone: 'America/Los_Angeles' })).map((x) => x.time)).toEqual(['2026-11-24T03:00:00.000Z', '2026-11-24T03:00:00.000Z']);
  });

  it('gives the same ISO text as Date#toISOString for repeated instants, instants of one day, across midnight and far from the epoch', () => {
    const cache = new StripeRowCache();
    const instants = [
      Date.parse('2026-11-23T10:00:00.000Z'),
      Date.parse('2026-11-23T10:00:00.000Z'),
      Date.parse('2026-11-23T10:00:00.007Z'),
      Date.parse('2026-11-23T23:59:59.999Z'),
      Date.parse('2026-11-24T00:00:00.000Z'),
      Date.parse('2026-11-23T00:00:00.000Z'),
      -1,
      -86_400_000 + 5,
      0,
      Date.parse('1969-07-20T20:17:40.000Z'),
      Date.parse('+012026-01-01T01:02:03.004Z'),
      8.64e15,
      -8.64e15,
    ];
    for (let i = 0; i < 2000; i++) instants.push(Date.parse('2026-11-23T00:00:00.000Z') + Math.floor(i * 997.3) * 61);
    for (const ms of instants) expect(cache.iso(ms), String(ms)).toBe(isoUtc(ms));
    // Out of Date's range: the same RangeError as toISOString, also right after a valid instant.
    expect(() => cache.iso(8.64e15 + 1000)).toThrow(RangeError);
    cache.iso(8.64e15 - 1000);
    expect(() => cache.iso(8.64e15 + 1000)).toThrow(RangeError);
  });

});

describe('balance-transaction JSON lines: shortcuts and their fallbacks', () => {
  const head = JSON.stringify({ object: 'pay.stripe_bill', version: 1, date: '2026-11-23', timeZone: 'UTC' });
  const created = Date.parse('2026-11-23T10:00:00Z') / 1000;
  const txn = (i: number, over: Record<string, unknown> = {}) =>
    JSON.stringify({ id: `txn_${i}`, object: 'balance_transaction', amount: 1000, fee: 30, net: 970, created, currency: 'usd', type: 'charge', source: { id: `ch_${i}`, payment_intent: `pi_${i}`, metadata: { order_no: `P${i}` } }, ...over });
  const bill = (name: string, lines: string[]) => file(name, [head, ...lines, JSON.stringify({ object: 'pay.stripe_bill_end', count: lines.length }), ''].join('\n'));

  it('converts each row\'s currency and time, also after repeated ones', async () => {
    const rows = await readAll(bill('jl-good.jsonl', [txn(1), txn(2), txn(3, { created: created + 1 }), txn(4, { currency: 'HUF', amount: 250_000, fee: 7300, net: 242_700 }), txn(5, { currency: 'jpy', amount: 1500, fee: 54, net: 1446 }), txn(6)]), { date: '2026-11-23' });
    expect(rows.map((r) => [r.line, r.currency, r.amountMinor, r.feeMinor, r.time])).toEqual([
      [2, 'USD', 1000, 30, '2026-11-23T10:00:00.000Z'],
      [3, 'USD', 1000, 30, '2026-11-23T10:00:00.000Z'],
      [4, 'USD', 1000, 30, '2026-11-23T10:00:01.000Z'],
      [5, 'HUF', 2500, 73, '2026-11-23T10:00:00.000Z'],
      [6, 'JPY', 1500, 54, '2026-11-23T10:00:00.000Z'],
      [7, 'USD', 1000, 30, '2026-11-23T10:00:00.000Z'],
    ]);
  });

  it('refuses a bad currency, amount or time after good rows, naming the line', async () => {
    const cases: [string, string[], RegExp][] = [
      ['jl-currency.jsonl', [txn(1), txn(2), txn(3, { currency: 'xyz' })], /:4: unknown currency xyz/],
      ['jl-no-currency-first.jsonl', [txn(1, { currency: undefined }), txn(2)], /:2: unknown currency undefined/],
      ['jl-no-currency.jsonl', [txn(1), txn(2, { currency: '' })], /:3: unknown currency $/m],
      ['jl-huf.jsonl', [txn(1, { currency: 'huf', amount: 250_000, fee: 0, net: 250_000 }), txn(2, { currency: 'huf', amount: 250_050, fee: 0, net: 250_050 })], /:3: Stripe amount 250050 \(HUF, in Stripe's units\) has a fraction/],
      ['jl-float.jsonl', [txn(1), txn(2, { fee: 0.5, net: 999.5 })], /:3: fee is not an integer/],
      ['jl-created.jsonl', [txn(1), txn(2, { created: String(created) })], /:3: created is not an integer/],
      ['jl-range.jsonl', [txn(1), txn(2, { created: 9e12 })], /:3: Invalid time value/],
      ['jl-net.jsonl', [txn(1), txn(2, { net: 971 })], /:3: net 971 is not amount 1000 minus fee 30/],
    ];
    for (const [name, lines, re] of cases) expect(await refusal(bill(name, lines)), name).toMatch(re);
  });

  it('balanceTransactionRow without a cache (the sandbox\'s reporting) gives the rows the reader does', async () => {
    const lines = [txn(1), txn(2, { created: created - 86_400 * 400 }), txn(3, { currency: 'kwd', amount: 12_340, fee: 660, net: 11_680 })];
    const path = bill('jl-direct.jsonl', lines);
    const read = await readAll(path);
    expect(lines.map((l, i) => balanceTransactionRow(JSON.parse(l) as Record<string, unknown>, i + 2))).toEqual(read);
  });
});
