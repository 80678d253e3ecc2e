/**
 * Lazy parts of a channel module. A channel's `index.ts` is loaded by `pay channels list`, by
 * detection in `pay verify` and by every command that names the channel; its bill parser (zip,
 * decoders, big format tables) is needed by reconciliation only, so it loads on first use.
 */
import { billRowChunks, type BatchedBillRows, type BillReader, type BillRow } from './contract.js';

/**
 * A BillReader whose implementation is imported on first use. What it reads keeps the loaded
 * reader's `batches()` (a chunk of rows per step) when it has one: reconciliation's packer takes
 * rows so, and row by row through this wrapper a 1M-row WeChat Pay bill cost its reading thread
 * about 1 s more (three generator steps and an array per row).
 */
export function lazyBills(load: () => Promise<BillReader>): BillReader {
  let loaded: Promise<BillReader> | undefined;
  const get = () => (loaded ??= load());
  return {
    read(source, options): BatchedBillRows {
      return {
        async *[Symbol.asyncIterator]() {
          yield* (await get()).read(source, options);
        },
        async *batches(): AsyncGenerator<BillRow[]> {
          yield* billRowChunks((await get()).read(source, options));
        },
      };
    },
    async write(path, rows, options) {
      const bills = await get();
      if (!bills.write) throw new Error('this channel cannot write bills');
      await bills.write(path, rows, options);
    },
  };
}
