/**
 * Reading a bill on a worker thread (read-worker.ts) while this thread stages what it has read:
 * the two halves of loading a big bill run on two cores. The worker's batches arrive as plain
 * arrays (stage-batch.ts); errors come back as the same PayError (same message, hint and exit
 * code) the reader threw.
 */
import type { ReadBillOptions } from '../channel/contract.js';
import type { LoadedConfig } from '../core/config.js';
import { PayError, type ErrorCode, type ExitStatus } from '../core/errors.js';
import type { BillSum } from '../store/reconcile-store.js';
import type { BillMapping } from './mapping.js';
import { STAGE_BATCH_ROWS, type PackedBill, type StageBatch } from './stage-batch.js';

/** What the worker reads, and with which reader. */
export interface WorkerReadSpec {
  path: string;
  options: ReadBillOptions;
  reader: { kind: 'channel'; channel: string; cwd: string; config?: LoadedConfig } | { kind: 'mapping'; mapping: BillMapping; businessTimeZone: string };
  batchRows: number;
  /** Batches in flight at most. */
  window: number;
}

/** What the worker posts. */
export type WorkerMessage =
  | { type: 'batch'; batch: StageBatch }
  | { type: 'bytes'; bytes: number }
  | { type: 'done'; rows: number; sums: BillSum[] }
  | {
      type: 'error';
      error: { pay: true; code: ErrorCode; message: string; hint?: string; exitCode: ExitStatus; details?: Record<string, unknown> } | { pay: false; message: string; name?: string };
    };

/**
 * Bills at least this big are read on a worker thread; smaller ones are read here (a worker's
 * start-up, ~30 ms, would cost more than it saves). PAY_READ_WORKER=1 always uses the worker,
 * PAY_READ_WORKER=0 never.
 */
export const WORKER_MIN_BYTES = 4 << 20;

/** Whether a bill of this size is read on a worker thread. */
export function useReadWorker(bytes: number, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.PAY_READ_WORKER === '1') return true;
  if (env.PAY_READ_WORKER === '0') return false;
  return bytes >= WORKER_MIN_BYTES;
}

/** Reads a bill on a worker thread; the batches arrive in file order. */
export function readInWorker(spec: Omit<WorkerReadSpec, 'batchRows' | 'window'> & { batchRows?: number; window?: number }, onBytes?: (bytes: number) => void): PackedBill {
  let rows = 0;
  let sums: BillSum[] = [];
  const data: WorkerReadSpec = { batchRows: STAGE_BATCH_ROWS, window: 16, ...spec };
  return {
    async *[Symbol.asyncIterator]() {
      const { Worker } = await import('node:worker_threads');
      const worker = new Worker(new URL('./read-worker.js', import.meta.url), { workerData: data });
      const queue: WorkerMessage[] = [];
      let failure: Error | undefined;
      let exited = false;
      let wake: (() => void) | undefined;
      const poke = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      worker.on('message', (m: WorkerMessage) => {
        queue.push(m);
        poke();
      });
      worker.on('error', (err) => {
        failure = err;
        poke();
      });
      worker.on('exit', () => {
        exited = true;
        poke();
      });
      try {
        for (;;) {
          while (queue.length === 0 && !failure && !exited) await new Promise<void>((resolve) => (wake = resolve));
          const m = queue.shift();
          if (!m) throw failure ?? new Error('the bill reader stopped without finishing');
          if (m.type === 'batch') {
            rows += m.batch.rows;
            yield m.batch;
            worker.postMessage('more');
          } else if (m.type === 'bytes') onBytes?.(m.bytes);
          else if (m.type === 'done') {
            rows = m.rows;
            sums = m.sums;
            return;
          } else {
            const e = m.error;
            if (e.pay) throw new PayError(e.code, e.message, { hint: e.hint, exitCode: e.exitCode, details: e.details });
            throw Object.assign(new Error(e.message), e.name ? { name: e.name } : {});
          }
        }
      } finally {
        await worker.terminate();
      }
    },
    sums: () => sums,
    rows: () => rows,
  };
}
