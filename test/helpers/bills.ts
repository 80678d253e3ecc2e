/**
 * Reading a channel's bill in tests: all its rows, or the refusal a damaged or foreign file must
 * get (INVALID_REQUEST, exit 2: bad input, never a channel error).
 */
import { expect } from 'vitest';
import type { BatchedBillRows, BillRow, BillSource, ReadBillOptions } from '../../src/channel/contract.js';
import type { PayError } from '../../src/core/errors.js';
import { caught } from './errors.js';

/** A channel's bill reader (`readStripeBill`, `readUnionPayBill`...). */
export type BillReadFn<O extends ReadBillOptions> = (source: BillSource, options: O) => AsyncIterable<BillRow>;

/** Every row `read` yields for the file at `path`. */
export async function readBillRows<O extends ReadBillOptions>(read: BillReadFn<O>, path: string, options: O = {} as O): Promise<BillRow[]> {
  const rows: BillRow[] = [];
  for await (const r of read({ path }, options)) rows.push(r);
  return rows;
}

/** The PayError `read` refuses `path` with, checked to be INVALID_REQUEST with exit status 2. */
export async function billRefusal<O extends ReadBillOptions>(read: BillReadFn<O>, path: string, options: O = {} as O): Promise<PayError> {
  const err = await caught(readBillRows(read, path, options));
  expect(err.code, `${path}: ${err.message}`).toBe('INVALID_REQUEST');
  expect(err.exitCode).toBe(2);
  return err;
}

/** The chunks a chunked reader hands over through `batches()`, in order. */
export async function billChunks(rows: BatchedBillRows): Promise<BillRow[][]> {
  const out: BillRow[][] = [];
  for await (const c of rows.batches()) out.push(c);
  return out;
}

/**
 * Checks a chunked read against `one`, the same file read row by row: `direct` (the reader's own
 * `batches()`) hands the same rows over in more than one non-empty chunk, and `viaModule` (the read
 * through the channel module the registry loads, its reader imported on first use: how
 * reconciliation reads) has `batches()` too, with chunks of the same sizes. Returns the chunks.
 */
export async function expectChunkedLikeOneByOne(direct: BatchedBillRows, viaModule: AsyncIterable<BillRow>, one: BillRow[]): Promise<BillRow[][]> {
  const chunks = await billChunks(direct);
  expect(chunks.length).toBeGreaterThan(1);
  expect(chunks.every((c) => c.length > 0)).toBe(true);
  expect(chunks.flat()).toStrictEqual(one);
  const lazy = viaModule as Partial<BatchedBillRows>;
  expect(typeof lazy.batches).toBe('function');
  const lazyChunks = await billChunks(lazy as BatchedBillRows);
  expect(lazyChunks.map((c) => c.length)).toEqual(chunks.map((c) => c.length));
  expect(lazyChunks.flat()).toStrictEqual(one);
  return chunks;
}
