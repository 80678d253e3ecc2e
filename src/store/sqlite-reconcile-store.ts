/**
 * The SQLite {@link ReconcileStore}: the staging table a bill is streamed into, the queries that
 * pair it with the books, and the saved runs and items (migration 2). Prepared statements only.
 *
 * Staging uses TEMP tables on the store's connection: SQLite keeps them in a temporary file (the
 * library's default temp_store), so a bill of any size costs disk, not memory, and filling them
 * takes no lock on the order book while the file is being read.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { BillRow } from '../channel/contract.js';
import type { BookEntry } from '../reconcile/classify.js';
import {
  type BillStage,
  type ReconcileStore,
  type SideTotals,
  type StagedPair,
  type StageScope,
  type UnbilledCounts,
} from './reconcile-store.js';
import type { Row } from './rows.js';
import type { SqliteStore } from './sqlite-store.js';
import { readStageRest, STAGE_FLAG, STAGE_KINDS, STAGE_WIDTH, type StageBatch } from '../reconcile/stage-batch.js';
import { booksTotalsStatements, foldBooksTotals, SqlReconcileStore } from './sql-reconcile-store.js';
import { readAside } from './sqlite-aside.js';
import { SeenKeys } from './seen-keys.js';

/** Rows per INSERT: a divisor of the packer's batches (1024), so no batch ends in single-row inserts. */
const BATCH = 256;

/** The stage's own flag beside {@link STAGE_FLAG}'s: the key may have been staged before. */
const SEEN = 16;

/** Columns of the raw rows of {@link SqliteBillStage.oddPage}'s query. */
const J = {
  rowid: 0,
  key: 1,
  amount: 2,
  currency: 3,
  rest: 4,
  first: 5,
  // the order (payments, payouts)
  oNo: 6,
  oKind: 7,
  oChannel: 8,
  oStatus: 9,
  oAmount: 10,
  oCurrency: 11,
  oTime: 12,
  oTrade: 13,
  // the refund
  fNo: 14,
  fOrderNo: 15,
  fChannel: 16,
  fStatus: 17,
  fAmount: 18,
  fCurrency: 19,
  fTime: 20,
  fTrade: 21,
} as const;

/** Pairable rows (payments, refunds, payouts), by their flags. */
const PAIRABLE = `(b.f & ${STAGE_FLAG.kind}) < ${STAGE_FLAG.pairableBelow}`;
/** The staged row is a refund / a payment (kind codes of stage-batch.ts). */
const IS_REFUND = `(b.f & ${STAGE_FLAG.kind}) = ${STAGE_KINDS.indexOf('refund')}`;
const IS_PAYMENT = `(b.f & ${STAGE_FLAG.kind}) = ${STAGE_KINDS.indexOf('payment')}`;

/**
 * The book entry a staged row's own key names: same number, same kind. The key carries both
 * (classify.ts's billKey: P| payment, T| payout, R| refund, then the number); rows keyed otherwise
 * lack the number and name no entry.
 */
const JOIN_BOOKS = `
  LEFT JOIN main.orders o ON substr(b.k, 1, 2) IN ('P|', 'T|') AND o.order_no = substr(b.k, 3)
    AND o.kind = CASE substr(b.k, 1, 1) WHEN 'P' THEN 'collect' ELSE 'payout' END
  LEFT JOIN main.refunds f ON substr(b.k, 1, 2) = 'R|' AND f.refund_no = substr(b.k, 3)`;

/**
 * A staged row (b) that plainly matches its book entry (o or f) for :channel in [:start, :end):
 * not marked failed, same channel, currency and amount, settled, and settled in the day. The
 * first-of-its-key condition is the caller's.
 */
const PLAIN = `((b.f & ${STAGE_FLAG.failed}) = 0
    AND CASE WHEN ${IS_REFUND} THEN
          f.refund_no IS NOT NULL AND f.channel = :channel AND f.currency = b.currency AND f.amount_minor = abs(b.amount)
          AND f.status = 'succeeded' AND f.refunded_at >= :start AND f.refunded_at < :end
        ELSE
          o.order_no IS NOT NULL AND o.channel = :channel AND o.currency = b.currency AND o.amount_minor = abs(b.amount)
          AND (o.status = 'succeeded' OR (${IS_PAYMENT} AND o.status = 'refunded'))
          AND o.paid_at >= :start AND o.paid_at < :end
        END)`;

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : (v as string));

/** A raw row of the odd-page query (indexed by {@link J}) as a {@link StagedPair}. */
function pairFromJoin(r: unknown[]): StagedPair {
  const row: BillRow = { ...readStageRest(r[J.rest] as string), amountMinor: r[J.amount] as number, currency: r[J.currency] as string };
  let entry: BookEntry | undefined;
  if (r[J.oNo] !== null) {
    entry = {
      kind: r[J.oKind] === 'payout' ? 'payout' : 'payment',
      orderNo: r[J.oNo] as string,
      channel: r[J.oChannel] as string,
      status: r[J.oStatus] as string,
      amountMinor: r[J.oAmount] as number,
      currency: r[J.oCurrency] as string,
      time: str(r[J.oTime]),
      channelTradeNo: str(r[J.oTrade]),
    };
  } else if (r[J.fNo] !== null) {
    entry = {
      kind: 'refund',
      orderNo: r[J.fOrderNo] as string,
      refundNo: r[J.fNo] as string,
      channel: r[J.fChannel] as string,
      status: r[J.fStatus] as string,
      amountMinor: r[J.fAmount] as number,
      currency: r[J.fCurrency] as string,
      time: str(r[J.fTime]),
      channelTradeNo: str(r[J.fTrade]),
    };
  }
  return { seq: r[J.rowid] as number, firstSeq: r[J.first] as number, key: r[J.key] as string, row, entry };
}

/** Bits of the filter of keys already staged (32 MiB). */
const SEEN_BITS = 1 << 28;

/**
 * A bill staged in TEMP tables on the store's connection.
 *
 * With a scope (the channel and day), plain matches are found while the bill is still being read:
 * each batch, once staged, is paired with the books at once (the reading thread is the slow one,
 * so this thread has the time). "First row of its key" is answered by a filter of the keys staged
 * so far: a key it may have seen (a real repeat, or now and then a false alarm) is simply set
 * aside for the engine, which tells the two apart exactly. The books are read outside the run's
 * transaction, so the run checks they did not change meanwhile (PRAGMA data_version counts commits
 * by other connections) and pairs the whole stage again in the transaction when they did.
 */
class SqliteBillStage implements BillStage {
  private readonly db: BetterSqlite3.Database;
  private readonly insertMany: BetterSqlite3.Statement;
  private readonly insertOne: BetterSqlite3.Statement;
  private readonly hitInsert: BetterSqlite3.Statement;
  /** Keys the filter may have seen before (every repeated key is among them), while scoped. */
  private readonly maybeInsert: BetterSqlite3.Statement;
  private readonly markFrom: BetterSqlite3.Statement | undefined;
  private readonly seen = new SeenKeys(SEEN_BITS);
  private marked = 0;
  /** Rows staged of the kinds paired with the books. */
  private pairable = 0;
  private readonly version: number;

  constructor(
    store: SqliteStore,
    private readonly scope?: StageScope,
  ) {
    this.db = store.db;
    this.dropTables();
    this.db.exec(`
      CREATE TEMP TABLE rc_bill (k TEXT NOT NULL, amount INTEGER NOT NULL, currency TEXT NOT NULL, f INTEGER NOT NULL, rest TEXT NOT NULL);
      CREATE TEMP TABLE rc_hits (k TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TEMP TABLE rc_odd (id INTEGER PRIMARY KEY);
      CREATE TEMP TABLE rc_maybe (k TEXT PRIMARY KEY) WITHOUT ROWID;
    `);
    const values = `(${Array(STAGE_WIDTH).fill('?').join(',')})`;
    this.insertMany = this.db.prepare(`INSERT INTO temp.rc_bill VALUES ${Array(BATCH).fill(values).join(',')}`);
    this.insertOne = this.db.prepare(`INSERT INTO temp.rc_bill VALUES ${values}`);
    this.hitInsert = this.db.prepare('INSERT OR IGNORE INTO temp.rc_hits (k) VALUES (?)');
    this.maybeInsert = this.db.prepare('INSERT OR IGNORE INTO temp.rc_maybe (k) VALUES (?)');
    this.version = this.dataVersion();
    if (scope) {
      this.markFrom = this.db.prepare(
        `INSERT INTO temp.rc_odd (id)
         SELECT b.rowid FROM temp.rc_bill b ${JOIN_BOOKS}
         WHERE b.rowid > :from AND ${PAIRABLE} AND COALESCE((b.f & ${SEEN}) = 0 AND ${PLAIN}, 0) = 0`,
      );
    }
  }

  /** Commits other connections made to the order book since this connection last looked. */
  private dataVersion(): number {
    return this.db.pragma('main.data_version', { simple: true }) as number;
  }

  /** Appends a batch in one temp-only transaction, {@link BATCH} rows per INSERT; pairs it with the books when scoped. */
  async add(batch: StageBatch): Promise<void> {
    const { values, rows } = batch;
    const many = this.insertMany;
    const one = this.insertOne;
    const scoped = this.scope !== undefined;
    // Copies a row's values into `into` at `at`, adding the stage's own flag; counts the pairable.
    const put = (row: number, into: unknown[], at: number) => {
      const from = row * STAGE_WIDTH;
      const k = values[from] as string;
      let f = values[from + 3] as number;
      if ((f & STAGE_FLAG.kind) < STAGE_FLAG.pairableBelow) this.pairable++;
      if (scoped && this.seen.add(k)) {
        f |= SEEN;
        this.maybeInsert.run(k);
      }
      into[at] = k;
      into[at + 1] = values[from + 1];
      into[at + 2] = values[from + 2];
      into[at + 3] = f;
      into[at + 4] = values[from + 4];
    };
    this.db.transaction(() => {
      let i = 0;
      // The last row this batch added: the next batch is paired from there.
      let last = this.marked;
      if (rows >= BATCH) {
        const args: unknown[] = new Array(STAGE_WIDTH * BATCH);
        for (; i + BATCH <= rows; i += BATCH) {
          for (let r = 0; r < BATCH; r++) put(i + r, args, r * STAGE_WIDTH);
          last = Number(many.run(args).lastInsertRowid);
        }
      }
      const single: unknown[] = new Array(STAGE_WIDTH);
      for (; i < rows; i++) {
        put(i, single, 0);
        last = Number(one.run(single).lastInsertRowid);
      }
      if (this.markFrom) {
        const { channel, start, end } = this.scope!;
        this.markFrom.run({ from: this.marked, channel, start, end });
        this.marked = last;
      }
    })();
  }

  async seal(): Promise<void> {
    // Keys listed more than once are few: a small table of their first rows answers "is this
    // row the first of its key" for every row more cheaply than a lookup in the whole stage.
    // Paired while read, the repeated keys are among those the filter flagged (rc_maybe), so only
    // those are grouped; CROSS JOIN keeps rc_maybe the outer loop (the planner would otherwise
    // walk the whole index, 0.2-0.3 s at 1M rows). Else every key is grouped.
    this.db.exec(`
      CREATE INDEX temp.rc_bill_k ON rc_bill (k);
      CREATE TEMP TABLE rc_dup (k TEXT PRIMARY KEY, first INTEGER NOT NULL) WITHOUT ROWID;
      ${
        this.scope !== undefined
          ? 'INSERT INTO temp.rc_dup SELECT b.k, MIN(b.rowid) FROM temp.rc_maybe m CROSS JOIN temp.rc_bill b ON b.k = m.k GROUP BY b.k HAVING COUNT(*) > 1;'
          : 'INSERT INTO temp.rc_dup SELECT k, MIN(rowid) FROM temp.rc_bill GROUP BY k HAVING COUNT(*) > 1;'
      }`);
  }

  async drop(): Promise<void> {
    this.dropTables();
  }

  private dropTables(): void {
    this.db.exec('DROP TABLE IF EXISTS temp.rc_bill; DROP TABLE IF EXISTS temp.rc_hits; DROP TABLE IF EXISTS temp.rc_odd; DROP TABLE IF EXISTS temp.rc_dup; DROP TABLE IF EXISTS temp.rc_maybe;');
    this.seen.clear();
    this.marked = 0;
    this.pairable = 0;
  }

  async markOdd(channel: string, start: string, end: string): Promise<number> {
    const same = this.scope && this.scope.channel === channel && this.scope.start === start && this.scope.end === end;
    if (!same || this.dataVersion() !== this.version) {
      // Not paired while reading, or the books changed meanwhile: pair the whole stage now.
      this.db.exec('DELETE FROM temp.rc_odd');
      this.db
        .prepare(
          `INSERT INTO temp.rc_odd (id)
           SELECT b.rowid FROM temp.rc_bill b LEFT JOIN temp.rc_dup d ON d.k = b.k ${JOIN_BOOKS}
           WHERE ${PAIRABLE} AND COALESCE(COALESCE(d.first, b.rowid) = b.rowid AND ${PLAIN}, 0) = 0`,
        )
        .run({ channel, start, end });
    }
    const odd = this.db.prepare('SELECT COUNT(*) FROM temp.rc_odd').pluck().get() as number;
    return this.pairable - odd;
  }

  /** Paged, not iterated: the connection cannot write while an iterator is open. */
  async oddPage(afterSeq: number, limit: number): Promise<StagedPair[]> {
    const rows = this.db
      .prepare(
        `SELECT b.rowid, b.k, b.amount, b.currency, b.rest, COALESCE(d.first, b.rowid),
                o.order_no, o.kind, o.channel, o.status, o.amount_minor, o.currency, o.paid_at, o.channel_trade_no,
                f.refund_no, f.order_no, f.channel, f.status, f.amount_minor, f.currency, f.refunded_at, f.channel_refund_no
         FROM temp.rc_odd x JOIN temp.rc_bill b ON b.rowid = x.id LEFT JOIN temp.rc_dup d ON d.k = b.k ${JOIN_BOOKS}
         WHERE x.id > ?
         ORDER BY x.id
         LIMIT ?`,
      )
      .raw(true)
      .all(afterSeq, limit) as unknown[][];
    return rows.map(pairFromJoin);
  }

  async addHits(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.hitInsert.run(k);
  }

  async insertUnbilled(channel: string, start: string, end: string, carryFrom: string, runId: number): Promise<UnbilledCounts> {
    const elsewhere = (key: string) => `NOT EXISTS (SELECT 1 FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
        WHERE i.channel = :channel AND i.item_key = ${key} AND i.class IN ('matched', 'resolved') AND r.superseded_by IS NULL AND i.run_id <> :run)`;
    const absent = (key: string) =>
      `NOT EXISTS (SELECT 1 FROM temp.rc_bill b WHERE b.k = ${key}) AND NOT EXISTS (SELECT 1 FROM temp.rc_hits h WHERE h.k = ${key}) AND ${elsewhere(key)}`;
    const cls = (time: string) => `CASE WHEN ${time} >= :carry THEN 'carriedOver' ELSE 'missingChannel' END`;
    const note = (time: string) =>
      `CASE WHEN ${time} >= :carry THEN 'settled near the end of the day: expected in the next bill' ELSE 'the books have it as settled; the channel does not list it' END`;
    const orders = this.db.prepare(
      `INSERT INTO reconcile_items (run_id, channel, class, item_key, kind, order_no, channel_trade_no, local_status, local_amount_minor, local_currency, local_time, note)
       SELECT :run, :channel, ${cls('o.paid_at')}, CASE o.kind WHEN 'collect' THEN 'P|' ELSE 'T|' END || o.order_no,
              CASE o.kind WHEN 'collect' THEN 'payment' ELSE 'payout' END, o.order_no, o.channel_trade_no,
              o.status, o.amount_minor, o.currency, o.paid_at, ${note('o.paid_at')}
       FROM orders o WHERE o.channel = :channel AND o.paid_at IS NOT NULL AND o.paid_at >= :start AND o.paid_at < :end
         AND ((o.kind = 'collect' AND o.status IN ('succeeded', 'refunded') AND ${absent(`('P|' || o.order_no)`)})
           OR (o.kind = 'payout' AND o.status = 'succeeded' AND ${absent(`('T|' || o.order_no)`)}))
       ORDER BY o.paid_at, o.order_no`,
    );
    const refunds = this.db.prepare(
      `INSERT INTO reconcile_items (run_id, channel, class, item_key, kind, order_no, refund_no, channel_trade_no, local_status, local_amount_minor, local_currency, local_time, note)
       SELECT :run, :channel, ${cls('f.refunded_at')}, 'R|' || f.refund_no, 'refund', f.order_no, f.refund_no, f.channel_refund_no,
              f.status, f.amount_minor, f.currency, f.refunded_at, ${note('f.refunded_at')}
       FROM refunds f WHERE f.channel = :channel AND f.refunded_at IS NOT NULL AND f.refunded_at >= :start AND f.refunded_at < :end
         AND f.status = 'succeeded' AND ${absent(`('R|' || f.refund_no)`)}
       ORDER BY f.refunded_at, f.refund_no`,
    );
    const params = { run: runId, channel, start, end, carry: carryFrom };
    orders.run(params);
    refunds.run(params);
    const counts = this.db
      .prepare(`SELECT class, COUNT(*) AS n FROM reconcile_items WHERE run_id = ? AND class IN ('missingChannel', 'carriedOver') AND carried_from IS NULL GROUP BY class`)
      .all(runId) as { class: string; n: number }[];
    const out = { missingChannel: 0, carriedOver: 0 };
    for (const c of counts) out[c.class as keyof typeof out] = c.n;
    return out;
  }
}

/** Reconciliation storage on one SQLite store (its connection, its transactions). */
export class SqliteReconcileStore extends SqlReconcileStore {
  constructor(readonly store: SqliteStore) {
    super();
  }

  async openStage(scope?: StageScope): Promise<BillStage> {
    return new SqliteBillStage(this.store, scope);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.store.writeAsync(fn);
  }

  async booksVersion(): Promise<number> {
    return this.store.db.pragma('main.data_version', { simple: true }) as number;
  }

  /**
   * The books' totals read on a worker thread, on a read-only connection of its own (one snapshot),
   * so that this thread goes on staging meanwhile; read on this connection instead when the books
   * are in memory (no second connection can see them) or the worker cannot read them.
   */
  async booksTotalsAside(channel: string, start: string, end: string): Promise<Map<string, SideTotals>> {
    if (this.store.location !== ':memory:') {
      try {
        const [orders, refunds] = await readAside(this.store.location, booksTotalsStatements(channel, start, end));
        return foldBooksTotals(orders!, refunds!);
      } catch {
        /* the same sums, read here */
      }
    }
    return this.booksTotals(channel, start, end);
  }

  protected async all<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.store.prepare(sql).all(...params) as R[];
  }

  protected async run(sql: string, params: unknown[] = []): Promise<void> {
    this.store.prepare(sql).run(...params);
  }

  protected async insertId(sql: string, params: unknown[]): Promise<number> {
    return Number(this.store.prepare(sql).run(...params).lastInsertRowid);
  }

  /** Nothing to release: the store's connection stays with the store. */
  async close(): Promise<void> {}
}
