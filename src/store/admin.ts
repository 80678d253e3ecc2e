/**
 * Administration of an order book, beside {@link Store}: schema version, row counts, and copying
 * one book into another (`pay db status`, `pay db copy`). Both backends keep the same tables and
 * columns, so the copy is one portable SQL text over a small {@link StoreAdmin} port (`?`
 * placeholders); each backend supplies statements and transactions.
 */
import type { Row } from './rows.js';
import { ITEM_COLUMNS } from './sql-reconcile-store.js';

/** The tables of an order book, in the order a copy writes them (referenced rows first). */
export const BOOK_TABLES = ['orders', 'refunds', 'callbacks', 'events', 'reconcile_runs', 'reconcile_items'] as const;
export type BookTable = (typeof BOOK_TABLES)[number];

/** Rows per table. */
export type TableCounts = Record<BookTable, number>;

/** Raw access to one order book for administration. */
export interface StoreAdmin {
  /** The schema version recorded in the database. */
  schemaVersion(): Promise<number>;
  /** Rows of a portable statement (`?` placeholders). */
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a portable statement; returns the rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Inserts one row into a table with an `id` key; returns the new id. */
  insertId(sql: string, params: unknown[]): Promise<number>;
  /** Runs `fn` in one write transaction. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Releases what the admin holds (a PostgreSQL connection). */
  close(): Promise<void>;
}

/** Rows per table of a book. */
export async function countRows(admin: StoreAdmin): Promise<TableCounts> {
  const out = {} as TableCounts;
  for (const t of BOOK_TABLES) out[t] = (await admin.all(`SELECT COUNT(*) AS n FROM ${t}`))[0].n as number;
  return out;
}

const ORDER_COLS = [
  'order_no',
  'kind',
  'channel',
  'status',
  'amount_minor',
  'currency',
  'refunded_minor',
  'subject',
  'method',
  'payee',
  'payee_name',
  'channel_trade_no',
  'failure_code',
  'failure_message',
  'payload',
  'source',
  'created_at',
  'updated_at',
  'paid_at',
];
const REFUND_COLS = ['refund_no', 'order_no', 'channel', 'status', 'amount_minor', 'currency', 'reason', 'channel_refund_no', 'failure_code', 'failure_message', 'created_at', 'updated_at', 'refunded_at'];
const CALLBACK_COLS = ['channel', 'dedup_key', 'event_type', 'order_no', 'refund_no', 'body_sha256', 'outcome', 'received_at'];
const EVENT_COLS = ['at', 'type', 'channel', 'order_no', 'refund_no', 'data'];
const RUN_COLS = [
  'channel',
  'date',
  'time_zone',
  'source',
  'bill_path',
  'bill_format',
  'bill_sha256',
  'bill_bytes',
  'mapping_sha256',
  'bill_rows',
  'matched',
  'missing_local',
  'missing_channel',
  'amount_mismatch',
  'status_mismatch',
  'currency_mismatch',
  'duplicate',
  'carried_over',
  'resolved',
  'totals',
  'started_at',
  'finished_at',
];
// Items take their run and origin through the id maps below; closed_by_run likewise.
const ITEM_COLS = [...ITEM_COLUMNS.filter((c) => c !== 'run_id' && c !== 'origin_item'), 'closed_at'];

const PAGE = 1000;
const marks = (n: number) => Array(n).fill('?').join(', ');

/** What a copy wrote (rows already in the target are not counted). */
export type CopyCounts = TableCounts;

/** Pages through `table` in key order. */
async function* pages(from: StoreAdmin, table: string, key: string[]): AsyncGenerator<Row[]> {
  let after: unknown[] | undefined;
  for (;;) {
    const where = after ? `WHERE (${key.join(', ')}) > (${marks(key.length)})` : '';
    const rows = await from.all(`SELECT * FROM ${table} ${where} ORDER BY ${key.join(', ')} LIMIT ${PAGE}`, after ?? []);
    if (rows.length) yield rows;
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1];
    after = key.map((k) => last[k]);
  }
}

/**
 * Copies every order, refund, callback, event and reconciliation run (with its items) of `from`
 * into `to`, in one transaction on `to`. Idempotent: orders, refunds and callbacks are keyed by
 * their numbers, runs by channel, day and bill hash, events by their content, so a rerun copies
 * nothing twice. Ids are the target's own; references between runs and items are carried over.
 * An order already in the target is kept as the target has it.
 */
export async function copyBook(from: StoreAdmin, to: StoreAdmin): Promise<CopyCounts> {
  const counts: CopyCounts = { orders: 0, refunds: 0, callbacks: 0, events: 0, reconcile_runs: 0, reconcile_items: 0 };
  const keyed = async (table: BookTable, cols: string[], key: string[]) => {
    // The key is the table's primary key: a row already there is left as it is.
    for await (const rows of pages(from, table, key)) {
      for (const r of rows) {
        counts[table] += await to.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${marks(cols.length)}) ON CONFLICT DO NOTHING`, cols.map((c) => r[c]));
      }
    }
  };
  return to.transaction(async () => {
    await keyed('orders', ORDER_COLS, ['order_no']);
    await keyed('refunds', REFUND_COLS, ['refund_no']);
    await keyed('callbacks', CALLBACK_COLS, ['channel', 'dedup_key']);

    // Events have no key of their own: one already in the target with the same content is the
    // same event (found through the index on its time).
    const same = EVENT_COLS.map((c) => `${c} IS NOT DISTINCT FROM CAST(? AS TEXT)`).join(' AND ');
    for await (const rows of pages(from, 'events', ['id'])) {
      for (const r of rows) {
        const values = EVENT_COLS.map((c) => r[c]);
        const found = await to.all(`SELECT 1 AS x FROM events WHERE at = ? AND ${same} LIMIT 1`, [r.at, ...values]);
        if (found.length) continue;
        await to.run(`INSERT INTO events (${EVENT_COLS.join(', ')}) VALUES (${marks(EVENT_COLS.length)})`, values);
        counts.events++;
      }
    }

    // Runs by (channel, date, bill_sha256); their items only with a run copied now. Ids map to
    // the target's, so superseded_by, closed_by_run and origin_item keep pointing right.
    const runIds = new Map<number, number>();
    const fresh = new Set<number>();
    for await (const rows of pages(from, 'reconcile_runs', ['id'])) {
      for (const r of rows) {
        const [have] = await to.all('SELECT id FROM reconcile_runs WHERE channel = ? AND date = ? AND bill_sha256 = ?', [r.channel, r.date, r.bill_sha256]);
        if (have) {
          runIds.set(r.id as number, have.id as number);
          continue;
        }
        const id = await to.insertId(`INSERT INTO reconcile_runs (${RUN_COLS.join(', ')}) VALUES (${marks(RUN_COLS.length)})`, RUN_COLS.map((c) => r[c]));
        runIds.set(r.id as number, id);
        fresh.add(r.id as number);
        counts.reconcile_runs++;
      }
    }
    for await (const rows of pages(from, 'reconcile_runs', ['id'])) {
      for (const r of rows) {
        if (fresh.has(r.id as number) && r.superseded_by != null && runIds.has(r.superseded_by as number)) {
          await to.run('UPDATE reconcile_runs SET superseded_by = ? WHERE id = ?', [runIds.get(r.superseded_by as number), runIds.get(r.id as number)]);
        }
      }
    }
    const itemIds = new Map<number, number>();
    const cols = [...ITEM_COLS, 'run_id', 'origin_item', 'closed_by_run'];
    for await (const rows of pages(from, 'reconcile_items', ['id'])) {
      for (const r of rows) {
        if (!fresh.has(r.run_id as number)) continue;
        const mapped = (m: Map<number, number>, v: unknown) => (v == null ? null : (m.get(v as number) ?? null));
        const id = await to.insertId(`INSERT INTO reconcile_items (${cols.join(', ')}) VALUES (${marks(cols.length)})`, [
          ...ITEM_COLS.map((c) => r[c]),
          runIds.get(r.run_id as number),
          mapped(itemIds, r.origin_item),
          mapped(runIds, r.closed_by_run),
        ]);
        itemIds.set(r.id as number, id);
        counts.reconcile_items++;
      }
    }
    return counts;
  });
}
