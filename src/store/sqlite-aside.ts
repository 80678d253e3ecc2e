/**
 * Read-only statements run on a worker thread, on a second connection to an SQLite order book
 * (sqlite-aside-worker.ts). better-sqlite3 runs a statement on the thread that calls it; a long
 * read there (the books' totals of a day: ~0.6 s for a million orders) would hold up the bill's
 * staging on the main thread, so it is read aside while the bill is being read.
 */
import type { BoundSql } from './sql-reconcile-store.js';
import type { Row } from './rows.js';

/** What the worker is given. */
export interface AsideRequest {
  path: string;
  statements: BoundSql[];
  busyTimeoutMs: number;
}

/** What the worker answers: each statement's rows, in order, or why it could not. */
export type AsideReply = { rows: Row[][] } | { error: string };

/**
 * Runs `statements` in one read transaction on a new read-only connection to the database file
 * at `path`, on a worker thread; resolves with each statement's rows.
 */
export async function readAside(path: string, statements: BoundSql[], busyTimeoutMs = 15000): Promise<Row[][]> {
  const { Worker } = await import('node:worker_threads');
  const request: AsideRequest = { path, statements, busyTimeoutMs };
  const worker = new Worker(new URL('./sqlite-aside-worker.js', import.meta.url), { workerData: request });
  try {
    return await new Promise<Row[][]>((resolve, reject) => {
      worker.once('message', (m: AsideReply) => ('rows' in m ? resolve(m.rows) : reject(new Error(m.error))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the reading thread stopped (exit code ${code})`)));
    });
  } finally {
    await worker.terminate();
  }
}
