/**
 * A worker thread (started by sqlite-aside.ts) that runs read-only statements on a connection of
 * its own to an SQLite order book, in one read transaction (one snapshot of the books), and posts
 * the rows back: sums over the books are read on another core while the main thread stages a bill.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { Row } from './rows.js';
import type { AsideRequest, AsideReply } from './sqlite-aside.js';

const { path, statements, busyTimeoutMs } = workerData as AsideRequest;
let reply: AsideReply;
let db: BetterSqlite3.Database | undefined;
try {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  const read = db.transaction(() => statements.map((s) => db!.prepare(s.sql).all(...s.params)));
  reply = { rows: read() as Row[][] };
} catch (err) {
  reply = { error: (err as Error)?.message ?? String(err) };
} finally {
  db?.close();
}
parentPort!.postMessage(reply);
