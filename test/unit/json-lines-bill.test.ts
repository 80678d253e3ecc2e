/**
 * The JSON-lines statement Stripe's and PayPal's `downloadBill` save (src/channel/json-lines-bill.ts),
 * with a made-up channel: header, rows, end line and count, and every refusal naming the line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BillRow } from '../../src/channel/contract.js';
import { readJsonLinesBill, writeJsonLinesBill, type JsonLinesBillFormat } from '../../src/channel/json-lines-bill.js';
import { isPayError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('pay-jsonl-bill-');
afterAll(() => tmp.cleanup());

const FORMAT: JsonLinesBillFormat = { header: 'pay.acme_bill', provider: 'Acme', label: 'Acme transactions file', damagedHint: 'Download it again.', emptyHint: 'Give an Acme file.' };
const toRow = (item: Record<string, unknown>, line: number): BillRow => {
  if (!Number.isInteger(item.amount)) throw new Error('amount is not an integer');
  return { line, kind: 'payment', orderNo: String(item.order), amountMinor: item.amount as number, feeMinor: 0, currency: 'USD', time: '2026-11-23T00:00:00.000Z' };
};
const read = async (path: string, options = {}) => {
  const rows: BillRow[] = [];
  for await (const r of readJsonLinesBill(path, FORMAT, options, toRow)) rows.push(r);
  return rows;
};
const refusal = async (path: string, options = {}) => {
  const err = await read(path, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isPayError(err) && err.code === 'INVALID_REQUEST' && err.exitCode === 2, String(err)).toBe(true);
  return err as Error & { hint?: string };
};

describe('JSON-lines statements', () => {
  it('writes header, items and end line, and reads the rows back with their lines', async () => {
    const path = join(tmp.dir, 'ok.jsonl');
    async function* items() {
      yield { order: 'P1', amount: 100 };
      yield { order: 'P2', amount: 250 };
    }
    expect(await writeJsonLinesBill(path, FORMAT, items(), { date: '2026-11-23', timeZone: 'UTC', account: 'acct_9' })).toBe(2);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ object: 'pay.acme_bill', version: 1, date: '2026-11-23', timeZone: 'UTC', account: 'acct_9' });
    expect(lines.at(-1)).toEqual({ object: 'pay.acme_bill_end', count: 2 });
    const rows = await read(path, { date: '2026-11-23', merchantId: 'acct_9' });
    expect(rows.map((r) => [r.line, r.orderNo, r.amountMinor])).toEqual([
      [2, 'P1', 100],
      [3, 'P2', 250],
    ]);
    expect((await refusal(path, { date: '2026-11-24' })).message).toBe(`${path} is the Acme bill for 2026-11-23, not 2026-11-24`);
    expect((await refusal(path, { merchantId: 'acct_1' })).message).toBe(`${path} belongs to Acme account acct_9, not acct_1`);
  });

  it('refuses what is not a whole statement, naming the line', async () => {
    const head = '{"object":"pay.acme_bill","version":1,"date":"2026-11-23","timeZone":"UTC"}';
    const row = '{"order":"P1","amount":100}';
    const endLine = '{"object":"pay.acme_bill_end","count":1}';
    const cases: [string, string, string][] = [
      ['empty', '\n\n', 'is empty'],
      ['no-header', `${row}\n${endLine}\n`, ':1: first line is not the pay.acme_bill header'],
      ['not-json', 'hello\n', ':1: not JSON'],
      ['cut-mid-line', `${head}\n${row.slice(0, 10)}`, ':2: a line is not complete JSON (the file is truncated?)'],
      ['array', `${head}\n[1,2]\n${endLine}\n`, ':2: a line is not a JSON object'],
      ['bad-row', `${head}\n{"order":"P1","amount":1.5}\n${endLine}\n`, ':2: amount is not an integer'],
      ['no-end', `${head}\n${row}\n`, ':2: no pay.acme_bill_end line: the download was cut short'],
      ['after-end', `${head}\n${row}\n${endLine}\n${row}\n`, ':4: data after the end line'],
      ['count', `${head}\n${row}\n${row}\n${endLine}\n`, ':4: the end line says 1 transactions, the file has 2'],
    ];
    for (const [name, text, message] of cases) {
      const path = join(tmp.dir, `${name}.jsonl`);
      writeFileSync(path, text);
      const err = await refusal(path);
      expect(err.message, name).toBe(`${path}${message.startsWith(':') ? '' : ' '}${message}`);
      expect(err.hint, name).toBe(name === 'empty' ? 'Give an Acme file.' : 'Download it again.');
    }
  });

  it('hands the rows over an array per chunk of the file (batches()), the same as one by one, with the same refusals', async () => {
    const path = join(tmp.dir, 'many.jsonl');
    async function* items() {
      for (let i = 0; i < 20_000; i++) yield { order: `P${i}`, amount: 100 + i };
    }
    await writeJsonLinesBill(path, FORMAT, items(), { date: '2026-11-23', timeZone: 'UTC' });
    const one = await read(path);
    expect(one).toHaveLength(20_000);
    const chunks: BillRow[][] = [];
    for await (const c of readJsonLinesBill(path, FORMAT, {}, toRow).batches()) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat()).toEqual(one);
    expect(one.at(-1)).toMatchObject({ line: 20_001, orderNo: 'P19999' });
    // A count that disagrees fails the chunked read too, after the rows.
    const bad = join(tmp.dir, 'many-bad.jsonl');
    writeFileSync(bad, readFileSync(path, 'utf8').replace('"count":20000', '"count":19999'));
    const drain = async () => {
      for await (const c of readJsonLinesBill(bad, FORMAT, {}, toRow).batches()) void c;
    };
    await expect(drain()).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: `${bad}:20002: the end line says 19999 transactions, the file has 20000` });
  });
});
