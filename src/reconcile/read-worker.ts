/**
 * The reading worker (a worker thread started by worker-read.ts): reads a bill with its channel's
 * reader or a mapping, checks and packs the rows (stage-batch.ts) and posts them a batch at a
 * time, while the main thread stages the batches before. At most `window` batches are in flight:
 * the main thread returns a credit for every batch it has staged, so memory stays flat however far
 * the reader could run ahead. The end posts the row count and the sums; a failure posts the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { billRowChunks, type BillRow } from '../channel/contract.js';
import { PayError } from '../core/errors.js';
import { BatchPacker, type StageBatch } from './stage-batch.js';
import type { WorkerReadSpec, WorkerMessage } from './worker-read.js';

const spec = workerData as WorkerReadSpec;
const port = parentPort!;
let credits = spec.window;
let wake: (() => void) | undefined;
port.on('message', (m: unknown) => {
  if (m === 'more') {
    credits++;
    wake?.();
  }
});

const post = (m: WorkerMessage) => port.postMessage(m);

async function send(batch: StageBatch): Promise<void> {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
  post({ type: 'batch', batch });
}

async function rowsOf(): Promise<AsyncIterable<BillRow>> {
  if (spec.reader.kind === 'mapping') {
    const { mappingBillReader } = await import('./mapping-reader.js');
    let last = 0;
    const onBytes = (n: number) => {
      // The main thread's progress bar needs no more than a few updates a second.
      if (n - last >= 1 << 20) post({ type: 'bytes', bytes: (last = n) });
    };
    return mappingBillReader(spec.reader.mapping, { businessTimeZone: spec.reader.businessTimeZone, onBytes }).read({ path: spec.path }, spec.options);
  }
  const { loadChannelModule } = await import('../channel/registry.js');
  const mod = await loadChannelModule(spec.reader.channel, { config: spec.reader.config, cwd: spec.reader.cwd });
  if (!mod.bill) throw new Error(`channel ${spec.reader.channel} has no bill reader`);
  return mod.bill.read({ path: spec.path }, spec.options);
}

try {
  const packer = new BatchPacker(spec.path, spec.batchRows);
  for await (const rows of billRowChunks(await rowsOf())) {
    for (const row of rows) {
      const batch = packer.push(row);
      if (batch) await send(batch);
    }
  }
  const last = packer.take();
  if (last) await send(last);
  post({ type: 'done', rows: packer.rows(), sums: packer.sums() });
} catch (err) {
  const e = err as Error;
  post({
    type: 'error',
    error:
      err instanceof PayError
        ? { pay: true, code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode, details: err.details }
        : { pay: false, message: e?.message ?? String(err), name: e?.name },
  });
}
