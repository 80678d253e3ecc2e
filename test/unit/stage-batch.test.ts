// Packing bill rows for the stage: the checks every row passes, the flat layout, batch sizes and
// the bill's sums (rows marked failed left out), the same on the main thread and the worker.
import { describe, expect, it } from 'vitest';
import { billRowChunks, type BillReader, type BillRow } from '../../src/channel/contract.js';
import { lazyBills } from '../../src/channel/lazy.js';
import { BatchPacker, packRows, readStageRest, STAGE_FLAG, STAGE_KINDS, STAGE_WIDTH } from '../../src/reconcile/stage-batch.js';

const row = (over: Partial<BillRow> = {}): BillRow => ({ line: 2, orderNo: 'P1', channelTradeNo: 'T1', kind: 'payment', amountMinor: 1000, feeMinor: 6, currency: 'CNY', time: '2026-11-22T02:00:00.000Z', status: 'SUCCESS', ...over });

async function* rowsOf(rows: BillRow[]): AsyncGenerator<BillRow> {
  yield* rows;
}

describe('BatchPacker', () => {
  it('lays a row out flat: key, amount, currency, flags, and the rest as COPY text (absent text as \\N)', () => {
    const p = new BatchPacker('bill.csv', 10);
    expect(p.push(row({ line: 7, refundNo: undefined, status: '' }))).toBeUndefined();
    const b = p.take()!;
    expect(b.rows).toBe(1);
    expect(b.values).toEqual(['P|P1', 1000, 'CNY', 0, '7\tpayment\tP1\t\\N\tT1\t6\t2026-11-22T02:00:00.000Z\t\\N']);
    expect(b.values).toHaveLength(STAGE_WIDTH);
    expect(p.take()).toBeUndefined();
  });

  it('codes the kind and the failed mark in the flags', () => {
    const p = new BatchPacker('bill.csv', 10);
    const kinds = ['payment', 'refund', 'payout', 'fee', 'adjustment'] as const;
    for (const [i, kind] of kinds.entries()) p.push(row({ kind, orderNo: `P${i}`, refundNo: 'R1' }));
    p.push(row({ kind: 'refund', refundNo: 'R2', status: ' Closed ' }));
    const b = p.take()!;
    const flags = Array.from({ length: b.rows }, (_, i) => b.values[i * STAGE_WIDTH + 3] as number);
    expect(flags.map((f) => STAGE_KINDS[f & STAGE_FLAG.kind])).toEqual([...kinds, 'refund']);
    expect(flags.map((f) => (f & STAGE_FLAG.failed) !== 0)).toEqual([false, false, false, false, false, true]);
    expect(flags.filter((f) => (f & STAGE_FLAG.kind) < STAGE_FLAG.pairableBelow)).toHaveLength(4);
  });

  it('reads back the rest exactly, escapes and absent values included', () => {
    const p = new BatchPacker('bill.csv', 10);
    const odd = row({ line: 12, kind: 'refund', orderNo: 'A\\B\tC', refundNo: 'R\n1\r', channelTradeNo: undefined, feeMinor: -3, status: '\\N' });
    p.push(odd);
    const rest = readStageRest(p.take()!.values[4] as string);
    expect(rest).toEqual({ line: 12, kind: 'refund', orderNo: 'A\\B\tC', refundNo: 'R\n1\r', channelTradeNo: undefined, feeMinor: -3, time: odd.time, status: '\\N' });
  });

  it('returns a batch when it is full, and keeps counting across batches', () => {
    const p = new BatchPacker('bill.csv', 3);
    const got = [1, 2, 3, 4, 5, 6, 7].map((i) => p.push(row({ orderNo: `P${i}` })));
    expect(got.map((b) => b?.rows)).toEqual([undefined, undefined, 3, undefined, undefined, 3, undefined]);
    expect(got[2]!.values[0]).toBe('P|P1');
    expect(got[5]!.values[0]).toBe('P|P4');
    expect(p.take()!.rows).toBe(1);
    expect(p.rows()).toBe(7);
  });

  it('sums per currency and kind, leaving out rows the bill marks failed', () => {
    const p = new BatchPacker('bill.csv');
    p.push(row({ amountMinor: 1000, feeMinor: 6 }));
    p.push(row({ orderNo: 'P2', amountMinor: 500, feeMinor: 3 }));
    p.push(row({ orderNo: 'P3', amountMinor: 700, feeMinor: 4, status: ' Closed ' }));
    p.push(row({ kind: 'refund', refundNo: 'R1', amountMinor: -200, feeMinor: -1, status: 'SUCCESS' }));
    p.push(row({ orderNo: 'U1', amountMinor: 999, currency: 'USD', feeMinor: undefined }));
    expect(p.sums()).toEqual([
      { currency: 'CNY', kind: 'payment', n: 2, amount: 1500, fee: 9 },
      { currency: 'CNY', kind: 'refund', n: 1, amount: -200, fee: -1 },
      { currency: 'USD', kind: 'payment', n: 1, amount: 999, fee: 0 },
    ]);
  });

  const bad: Array<[string, Partial<BillRow>, RegExp]> = [
    ['an unknown kind', { kind: 'gift' as BillRow['kind'] }, /line 2: unknown kind "gift"/],
    ['a fractional amount', { amountMinor: 10.5 }, /amount is not an integer of minor units/],
    ['an unsafe amount', { amountMinor: 2 ** 53 }, /amount is not an integer/],
    ['a fractional fee', { feeMinor: 0.5 }, /fee is not an integer/],
    ['a lowercase currency', { currency: 'cny' }, /currency "cny" is not an ISO 4217 code/],
    ['a time that is not one', { time: 'yesterday' }, /time "yesterday" is not a time/],
  ];
  for (const [name, over, message] of bad) {
    it(`refuses ${name} (exit 2, naming the file and line)`, () => {
      const p = new BatchPacker('bill.csv');
      let err: any;
      try {
        p.push(row(over));
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'INVALID_REQUEST', exitCode: 2 });
      expect(err.message).toMatch(/^bill\.csv: bill row at line/);
      expect(err.message).toMatch(message);
    });
  }

  it('checks a repeated time once but still refuses a bad one after a good one', () => {
    const p = new BatchPacker('bill.csv');
    p.push(row());
    p.push(row({ orderNo: 'P2' }));
    expect(() => p.push(row({ orderNo: 'P3', time: 'nope' }))).toThrow(/not a time/);
  });

  it('checks a currency, a status and a sum bucket again whenever they change from the row before', () => {
    const p = new BatchPacker('bill.csv');
    p.push(row());
    p.push(row({ orderNo: 'P2', status: 'CLOSED' }));
    p.push(row({ orderNo: 'P3' }));
    p.push(row({ orderNo: 'P4', currency: 'USD' }));
    p.push(row({ orderNo: 'P5' }));
    const b = p.take()!;
    expect(Array.from({ length: b.rows }, (_, i) => (b.values[i * STAGE_WIDTH + 3] as number) & STAGE_FLAG.failed)).toEqual([0, STAGE_FLAG.failed, 0, 0, 0]);
    expect(p.sums()).toEqual([
      { currency: 'CNY', kind: 'payment', n: 3, amount: 3000, fee: 18 },
      { currency: 'USD', kind: 'payment', n: 1, amount: 1000, fee: 6 },
    ]);
    expect(() => p.push(row({ orderNo: 'P6', currency: 'usd' }))).toThrow(/currency "usd" is not an ISO 4217 code/);
    // The first row is checked whatever it holds (no remembered value stands in for an empty one).
    expect(() => new BatchPacker('bill.csv').push(row({ currency: '' }))).toThrow(/currency "" is not/);
    expect(() => new BatchPacker('bill.csv').push(row({ time: '' }))).toThrow(/time "" is not a time/);
    expect(() => new BatchPacker('bill.csv').push(row({ time: undefined as unknown as string }))).toThrow(/time "undefined" is not a time/);
  });

  it('refuses sums past the safe integer range', () => {
    const p = new BatchPacker('bill.csv');
    p.push(row({ amountMinor: Number.MAX_SAFE_INTEGER - 1 }));
    expect(() => p.push(row({ orderNo: 'P2', amountMinor: 5 }))).toThrow(/bill totals exceed/);
  });
});

describe('packRows', () => {
  it('yields full batches then the rest, with the row count and sums once done', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => row({ orderNo: `P${i}`, amountMinor: 100 + i }));
    const packed = packRows(rowsOf(rows), 'bill.csv', 4);
    const sizes: number[] = [];
    for await (const b of packed) sizes.push(b.rows);
    expect(sizes).toEqual([4, 4, 2]);
    expect(packed.rows()).toBe(10);
    expect(packed.sums()).toEqual([{ currency: 'CNY', kind: 'payment', n: 10, amount: 1045, fee: 60 }]);
  });
});

describe('billRowChunks', () => {
  const two: BillRow[] = [
    { line: 2, kind: 'payment', orderNo: 'A1', amountMinor: 100, feeMinor: 0, currency: 'CNY', time: '2026-11-22T01:00:00.000Z' },
    { line: 3, kind: 'payment', orderNo: 'A2', amountMinor: 200, feeMinor: 0, currency: 'CNY', time: '2026-11-22T01:00:00.000Z' },
  ];

  it('takes a reader’s chunks as they are', async () => {
    const rows = {
      batches: async function* () {
        yield two;
      },
      [Symbol.asyncIterator]: async function* () {
        yield* two;
      },
    };
    const got: (readonly BillRow[])[] = [];
    for await (const c of billRowChunks(rows)) got.push(c);
    expect(got).toEqual([two]);
  });

  it('gives a plain stream’s rows one at a time, and packs them the same', async () => {
    async function* plain() {
      yield* two;
    }
    const got: (readonly BillRow[])[] = [];
    for await (const c of billRowChunks(plain())) got.push(c);
    expect(got).toEqual([[two[0]], [two[1]]]);
    const packed = packRows(plain(), 'bill.csv');
    const batches = [];
    for await (const b of packed) batches.push(b);
    expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(2);
    expect(packed.sums()).toEqual([{ currency: 'CNY', kind: 'payment', n: 2, amount: 300, fee: 0 }]);
  });
});

describe('lazyBills (a channel module’s reader, imported on first use)', () => {
  const two: BillRow[] = [
    { line: 2, kind: 'payment', orderNo: 'A1', amountMinor: 100, feeMinor: 0, currency: 'CNY', time: '2026-11-22T01:00:00.000Z' },
    { line: 3, kind: 'payment', orderNo: 'A2', amountMinor: 200, feeMinor: 0, currency: 'CNY', time: '2026-11-22T01:00:00.000Z' },
  ];

  it('keeps the loaded reader’s chunks as they are (the packer takes them so), and loads it once', async () => {
    let loads = 0;
    const reader: BillReader = {
      read: () => ({
        batches: async function* () {
          yield two;
          yield [two[0]!];
        },
        [Symbol.asyncIterator]: async function* () {
          yield* two;
          yield two[0]!;
        },
      }),
    };
    const lazy = lazyBills(async () => {
      loads++;
      return reader;
    });
    const chunks: (readonly BillRow[])[] = [];
    for await (const c of billRowChunks(lazy.read({ path: 'x' }, {}))) chunks.push(c);
    expect(chunks).toEqual([two, [two[0]]]);
    expect(chunks[0]).toBe(two);
    const rows: BillRow[] = [];
    for await (const r of lazy.read({ path: 'x' }, {})) rows.push(r);
    expect(rows).toEqual([...two, two[0]]);
    expect(loads).toBe(1);
  });

  it('gives the rows of a reader without chunks (a channel loaded from a path may have one) one at a time, and its damage', async () => {
    // Every bundled channel's reader has batches(); a plain async generator stands for one that does not.
    let damaged = false;
    const reader: BillReader = {
      read: async function* () {
        yield* two;
        if (damaged) throw new Error('line 4: the file is truncated');
      },
    };
    const lazy = lazyBills(async () => reader);
    const chunks: (readonly BillRow[])[] = [];
    for await (const c of billRowChunks(lazy.read({ path: 'x' }, {}))) chunks.push(c);
    expect(chunks).toEqual([[two[0]], [two[1]]]);
    damaged = true;
    const seen: (readonly BillRow[])[] = [];
    await expect(async () => {
      for await (const c of billRowChunks(lazy.read({ path: 'x' }, {}))) seen.push(c);
    }).rejects.toThrow(/line 4: the file is truncated/);
    expect(seen).toHaveLength(2);
  });
});
