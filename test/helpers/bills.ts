/**
 * Reading a channel's bill in tests: all its rows, or the refusal a damaged or foreign file must
 * get (INVALID_REQUEST, exit 2: bad input, never a channel error).
 */
import { expect } from 'vitest';
import type { BillRow, BillSource, ReadBillOptions } from '../../src/channel/contract.js';
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
