/**
 * The SQLite {@link OrderImport}: rows are staged in a TEMP table (a temporary file, not memory)
 * with multi-row prepared inserts; the checks run as SQL over it; everything is written in one
 * IMMEDIATE transaction. Prepared statements only.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { nextOrderStatus, nextRefundStatus, type OrderStatus, type RefundStatus } from '../core/order.js';
import {
  MAX_PROBLEMS,
  orderConflict,
  refundConflict,
  refundOrderProblem,
  refundTotalProblem,
  type ImportCounts,
  type ImportProblem,
  type ImportRow,
  type OrderImport,
} from './order-import.js';
import type { SqliteStore } from './sqlite-store.js';

type Row = Record<string, unknown>;
const COLS = 12;
const BATCH = 200;

/** The import engine for one file on one store. */
export class SqliteOrderImport implements OrderImport {
  private readonly db: BetterSqlite3.Database;
  private insertMany!: BetterSqlite3.Statement;
  private insertOne!: BetterSqlite3.Statement;
  private errorInsert!: BetterSqlite3.Statement;
  private problemsKept = 0;
  /** Rejected rows counted (all of them, even beyond the ones kept for the report). */
  rejectedRows = 0;

  constructor(
    private readonly store: SqliteStore,
    private readonly maxProblems = MAX_PROBLEMS,
  ) {
    this.db = store.db;
  }

  /** Creates the staging tables. */
  async begin(): Promise<void> {
    this.dropStage();
    this.db.exec(`
      CREATE TEMP TABLE imp (
        line INTEGER NOT NULL, k TEXT NOT NULL, kind TEXT NOT NULL, order_no TEXT NOT NULL, refund_no TEXT, channel TEXT NOT NULL,
        amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, paid_at TEXT, trade_no TEXT,
        bad INTEGER NOT NULL DEFAULT 0, action TEXT
      );
      CREATE TEMP TABLE imp_err (line INTEGER NOT NULL, order_no TEXT, refund_no TEXT, message TEXT NOT NULL);
    `);
    const v = `(${Array(COLS).fill('?').join(',')})`;
    const cols = '(line, k, kind, order_no, refund_no, channel, amount, currency, status, created_at, paid_at, trade_no)';
    this.insertMany = this.db.prepare(`INSERT INTO temp.imp ${cols} VALUES ${Array(BATCH).fill(v).join(',')}`);
    this.insertOne = this.db.prepare(`INSERT INTO temp.imp ${cols} VALUES ${v}`);
    this.errorInsert = this.db.prepare('INSERT INTO temp.imp_err (line, order_no, refund_no, message) VALUES (?, ?, ?, ?)');
  }

  /** Drops the staging tables. */
  async end(): Promise<void> {
    this.dropStage();
  }

  private dropStage(): void {
    this.db.exec('DROP TABLE IF EXISTS temp.imp; DROP TABLE IF EXISTS temp.imp_err;');
  }

  /** Stages checked rows. */
  async stage(rows: readonly ImportRow[]): Promise<void> {
    const put = (r: ImportRow, at: number, a: unknown[]) => {
      a[at] = r.line;
      a[at + 1] = r.kind === 'refund' ? `R|${r.refundNo}` : `O|${r.orderNo}`;
      a[at + 2] = r.kind;
      a[at + 3] = r.orderNo;
      a[at + 4] = r.refundNo;
      a[at + 5] = r.channel;
      a[at + 6] = r.amountMinor;
      a[at + 7] = r.currency;
      a[at + 8] = r.status;
      a[at + 9] = r.createdAt;
      a[at + 10] = r.paidAt;
      a[at + 11] = r.channelTradeNo;
    };
    this.db.transaction(() => {
      let i = 0;
      const args = new Array(BATCH * COLS);
      for (; i + BATCH <= rows.length; i += BATCH) {
        for (let j = 0; j < BATCH; j++) put(rows[i + j], j * COLS, args);
        this.insertMany.run(args);
      }
      const one = new Array(COLS);
      for (; i < rows.length; i++) {
        put(rows[i], 0, one);
        this.insertOne.run(one);
      }
    })();
  }

  /** Records a problem found while reading (the row was not staged). */
  async problem(p: ImportProblem): Promise<void> {
    this.keep(p);
  }

  private keep(p: ImportProblem): void {
    this.rejectedRows++;
    if (this.problemsKept++ < this.maxProblems) this.errorInsert.run(p.line, p.orderNo ?? null, p.refundNo ?? null, p.message);
  }

  /** Marks a staged row bad with a problem. */
  private reject(line: number, orderNo: string | null, refundNo: string | null, message: string): void {
    const changed = this.db.prepare('UPDATE temp.imp SET bad = 1 WHERE line = ? AND bad = 0').run(line).changes;
    if (changed) this.keep({ line, orderNo: orderNo ?? undefined, refundNo: refundNo ?? undefined, message });
  }

  /**
   * Runs the whole-file checks. Decides, for each good row, whether it creates, updates or
   * leaves unchanged what is stored.
   */
  async check(): Promise<void> {
    this.db.exec(`
      CREATE INDEX temp.imp_k ON imp (k);
      CREATE INDEX temp.imp_order ON imp (order_no);
    `);

    // Keys repeated in the file: the first row stands, later ones are rejected.
    const dups = this.db
      .prepare(
        `SELECT i.line, i.kind, i.order_no, i.refund_no, (SELECT MIN(j.line) FROM temp.imp j WHERE j.k = i.k) AS first
         FROM temp.imp i WHERE EXISTS (SELECT 1 FROM temp.imp j WHERE j.k = i.k AND j.line < i.line) ORDER BY i.line`,
      )
      .all() as Row[];
    for (const d of dups) {
      const what = d.kind === 'refund' ? `refund_no ${String(d.refund_no)}` : `order_no ${String(d.order_no)}`;
      this.reject(d.line as number, d.order_no as string, d.refund_no as string | null, `${what} already appears on line ${String(d.first)}`);
    }

    // Orders and payouts already stored: identical, a forward move, or a conflict.
    const orderDiffs = this.db
      .prepare(
        `SELECT i.line, i.kind, i.order_no, i.channel, i.amount, i.currency, i.status, i.created_at, i.paid_at, i.trade_no,
                o.kind AS s_kind, o.channel AS s_channel, o.amount_minor AS s_amount, o.currency AS s_currency, o.status AS s_status,
                o.created_at AS s_created, o.paid_at AS s_paid, o.channel_trade_no AS s_trade
         FROM temp.imp i JOIN main.orders o ON o.order_no = i.order_no
         WHERE i.kind <> 'refund' AND i.bad = 0 AND (
           o.kind <> CASE i.kind WHEN 'payment' THEN 'collect' ELSE 'payout' END OR o.channel <> i.channel OR o.amount_minor <> i.amount
           OR o.currency <> i.currency OR o.created_at <> i.created_at OR o.status <> i.status OR o.paid_at IS NOT i.paid_at
           OR o.channel_trade_no IS NOT i.trade_no)`,
      )
      .all() as Row[];
    const mark = this.db.prepare('UPDATE temp.imp SET action = ? WHERE line = ?');
    for (const d of orderDiffs) {
      const conflict = orderConflict(d);
      if (conflict === 'same') continue;
      if (conflict) this.reject(d.line as number, d.order_no as string, null, conflict);
      else mark.run('update', d.line);
    }

    // Refunds: their order must be in the file or the books, paid, same channel and currency.
    const refunds = this.db
      .prepare(
        `SELECT r.line, r.order_no, r.refund_no, r.channel, r.currency, r.status, r.amount,
                o.line AS f_line, o.kind AS f_kind, o.channel AS f_channel, o.currency AS f_currency, o.status AS f_status, o.bad AS f_bad,
                s.kind AS s_kind, s.channel AS s_channel, s.currency AS s_currency, s.status AS s_status
         FROM temp.imp r
         LEFT JOIN temp.imp o ON o.k = 'O|' || r.order_no AND o.line = (SELECT MIN(line) FROM temp.imp x WHERE x.k = 'O|' || r.order_no)
         LEFT JOIN main.orders s ON s.order_no = r.order_no
         WHERE r.kind = 'refund' AND r.bad = 0 AND (
           (o.line IS NULL AND s.order_no IS NULL) OR o.bad = 1
           OR COALESCE(o.kind, CASE s.kind WHEN 'collect' THEN 'payment' ELSE 'payout' END) <> 'payment'
           OR COALESCE(o.channel, s.channel) <> r.channel OR COALESCE(o.currency, s.currency) <> r.currency
           OR COALESCE(o.status, s.status) NOT IN ('succeeded', 'refunded'))`,
      )
      .all() as Row[];
    for (const r of refunds) this.reject(r.line as number, r.order_no as string, r.refund_no as string, refundOrderProblem(r));

    // Refunds already stored: identical, a forward move, or a conflict.
    const refundDiffs = this.db
      .prepare(
        `SELECT i.line, i.order_no, i.refund_no, i.amount, i.status, i.created_at, i.paid_at, i.trade_no,
                f.order_no AS s_order, f.amount_minor AS s_amount, f.status AS s_status, f.created_at AS s_created,
                f.refunded_at AS s_paid, f.channel_refund_no AS s_trade
         FROM temp.imp i JOIN main.refunds f ON f.refund_no = i.refund_no
         WHERE i.kind = 'refund' AND i.bad = 0 AND (
           f.order_no <> i.order_no OR f.amount_minor <> i.amount OR f.status <> i.status OR f.created_at <> i.created_at
           OR f.refunded_at IS NOT i.paid_at OR f.channel_refund_no IS NOT i.trade_no)`,
      )
      .all() as Row[];
    for (const d of refundDiffs) {
      const conflict = refundConflict(d);
      if (conflict === 'same') continue;
      if (conflict) this.reject(d.line as number, d.order_no as string, d.refund_no as string, conflict);
      else mark.run('update', d.line);
    }

    // Refund totals per order: stored succeeded refunds not in the file, plus the file's.
    const totals = this.db
      .prepare(
        `WITH touched AS (SELECT DISTINCT order_no FROM temp.imp WHERE kind = 'refund' AND bad = 0
                          UNION SELECT order_no FROM temp.imp WHERE kind = 'payment' AND status = 'refunded' AND bad = 0),
              sums AS (
                SELECT t.order_no,
                  (SELECT COALESCE(SUM(f.amount_minor), 0) FROM main.refunds f WHERE f.order_no = t.order_no AND f.status = 'succeeded'
                     AND NOT EXISTS (SELECT 1 FROM temp.imp x WHERE x.k = 'R|' || f.refund_no AND x.bad = 0))
                  + (SELECT COALESCE(SUM(r.amount), 0) FROM temp.imp r WHERE r.kind = 'refund' AND r.bad = 0 AND r.order_no = t.order_no AND r.status = 'succeeded') AS refunded,
                  (SELECT COUNT(*) FROM main.refunds f WHERE f.order_no = t.order_no)
                  + (SELECT COUNT(*) FROM temp.imp r WHERE r.kind = 'refund' AND r.bad = 0 AND r.order_no = t.order_no) AS n
                FROM touched t)
         SELECT s.order_no, s.refunded, s.n, COALESCE(o.amount, so.amount_minor) AS amount, COALESCE(o.currency, so.currency) AS currency,
                COALESCE(o.status, so.status) AS status, o.line AS line
         FROM sums s
         LEFT JOIN temp.imp o ON o.k = 'O|' || s.order_no AND o.bad = 0
         LEFT JOIN main.orders so ON so.order_no = s.order_no`,
      )
      .all() as Row[];
    const refundLines = this.db.prepare("SELECT line, refund_no FROM temp.imp WHERE kind = 'refund' AND bad = 0 AND order_no = ? ORDER BY line");
    for (const t of totals) {
      if (t.amount === null) continue; // its order was rejected; its refunds were rejected with it
      const msg = refundTotalProblem(t);
      if (!msg) continue;
      if (t.line !== null) this.reject(t.line as number, t.order_no as string, null, msg);
      for (const r of refundLines.all(t.order_no) as Row[]) this.reject(r.line as number, t.order_no as string, r.refund_no as string, msg);
    }

    // Refunds whose order was rejected by the checks above go with it.
    const orphans = this.db
      .prepare(
        `SELECT r.line, r.order_no, r.refund_no, o.line AS o_line FROM temp.imp r JOIN temp.imp o ON o.k = 'O|' || r.order_no
         WHERE r.kind = 'refund' AND r.bad = 0 AND o.bad = 1`,
      )
      .all() as Row[];
    for (const r of orphans) this.reject(r.line as number, r.order_no as string, r.refund_no as string, `its order on line ${String(r.o_line)} was rejected`);

    this.db.exec(`
      UPDATE temp.imp SET action = 'insert' WHERE bad = 0 AND action IS NULL AND kind <> 'refund' AND NOT EXISTS (SELECT 1 FROM main.orders o WHERE o.order_no = imp.order_no);
      UPDATE temp.imp SET action = 'insert' WHERE bad = 0 AND action IS NULL AND kind = 'refund' AND NOT EXISTS (SELECT 1 FROM main.refunds f WHERE f.refund_no = imp.refund_no);
      UPDATE temp.imp SET action = 'same' WHERE bad = 0 AND action IS NULL;
    `);
  }

  /** Problems found, by line (at most maxProblems of them). */
  async problems(): Promise<ImportProblem[]> {
    return (this.db.prepare('SELECT * FROM temp.imp_err ORDER BY line, rowid').all() as Row[]).map((r) => {
      const p: ImportProblem = { line: r.line as number, message: r.message as string };
      if (r.order_no !== null) p.orderNo = r.order_no as string;
      if (r.refund_no !== null) p.refundNo = r.refund_no as string;
      return p;
    });
  }

  /** What applying would do. */
  async counts(rows: number): Promise<ImportCounts> {
    return this.countsNow(rows);
  }

  private countsNow(rows: number): ImportCounts {
    const c = this.db
      .prepare(
        `SELECT
           SUM(action = 'insert' AND kind <> 'refund') AS oc, SUM(action = 'insert' AND kind = 'refund') AS rc,
           SUM(action = 'update') AS up, SUM(action = 'same') AS same
         FROM temp.imp WHERE bad = 0`,
      )
      .get() as Record<string, number | null>;
    return { rows, ordersCreated: c.oc ?? 0, refundsCreated: c.rc ?? 0, updated: c.up ?? 0, unchanged: c.same ?? 0, rejected: this.rejectedRows };
  }

  /** Writes the good rows in one transaction. */
  async apply(file: { path: string; sha256: string }, rows: number): Promise<ImportCounts> {
    return this.store.write(() => {
      const now = this.store.now();
      const params = { now, file: file.sha256 };
      // Events first: they select the rows about to be created.
      this.db
        .prepare(
          `INSERT INTO events (at, type, channel, order_no, data)
           SELECT :now, 'order.created', channel, order_no,
                  json_object('source', 'import', 'kind', CASE kind WHEN 'payment' THEN 'collect' ELSE 'payout' END, 'status', status,
                              'amountMinor', amount, 'currency', currency, 'line', line, 'fileSha256', :file)
           FROM temp.imp WHERE action = 'insert' AND kind <> 'refund' ORDER BY line`,
        )
        .run(params);
      this.db
        .prepare(
          `INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, refunded_minor, channel_trade_no, source, created_at, updated_at, paid_at)
           SELECT order_no, CASE kind WHEN 'payment' THEN 'collect' ELSE 'payout' END, channel, status, amount, currency,
                  CASE status WHEN 'refunded' THEN amount ELSE 0 END, trade_no, 'import', created_at, :now, paid_at
           FROM temp.imp WHERE action = 'insert' AND kind <> 'refund' ORDER BY line`,
        )
        .run({ now });

      // Stored orders moving forward (the state machine decides) or gaining a trade number.
      const updates = this.db.prepare("SELECT i.*, o.status AS s_status, o.channel_trade_no AS s_trade, o.paid_at AS s_paid FROM temp.imp i JOIN main.orders o ON o.order_no = i.order_no WHERE i.action = 'update' AND i.kind <> 'refund'").all() as Row[];
      const setOrder = this.db.prepare('UPDATE orders SET status = ?, paid_at = ?, channel_trade_no = ?, updated_at = ? WHERE order_no = ?');
      const event = this.db.prepare('INSERT INTO events (at, type, channel, order_no, refund_no, data) VALUES (?, ?, ?, ?, ?, ?)');
      for (const u of updates) {
        const moved = nextOrderStatus(u.s_status as OrderStatus, u.status as OrderStatus);
        const status = moved.changed ? moved.status : (u.s_status as string);
        setOrder.run(status, u.paid_at ?? u.s_paid, u.s_trade ?? u.trade_no, now, u.order_no);
        if (moved.changed) {
          event.run(now, 'order.status', u.channel, u.order_no, null, JSON.stringify({ from: u.s_status, to: status, source: 'import', line: u.line, fileSha256: file.sha256 }));
        }
      }

      this.db
        .prepare(
          `INSERT INTO events (at, type, channel, order_no, refund_no, data)
           SELECT :now, 'refund.created', channel, order_no, refund_no,
                  json_object('source', 'import', 'status', status, 'amountMinor', amount, 'currency', currency, 'line', line, 'fileSha256', :file)
           FROM temp.imp WHERE action = 'insert' AND kind = 'refund' ORDER BY line`,
        )
        .run(params);
      this.db
        .prepare(
          `INSERT INTO refunds (refund_no, order_no, channel, status, amount_minor, currency, channel_refund_no, created_at, updated_at, refunded_at)
           SELECT refund_no, order_no, channel, status, amount, currency, trade_no, created_at, :now, paid_at
           FROM temp.imp WHERE action = 'insert' AND kind = 'refund' ORDER BY line`,
        )
        .run({ now });
      const refundUpdates = this.db.prepare("SELECT i.*, f.status AS s_status, f.channel_refund_no AS s_trade, f.refunded_at AS s_paid FROM temp.imp i JOIN main.refunds f ON f.refund_no = i.refund_no WHERE i.action = 'update' AND i.kind = 'refund'").all() as Row[];
      const setRefund = this.db.prepare('UPDATE refunds SET status = ?, refunded_at = ?, channel_refund_no = ?, updated_at = ? WHERE refund_no = ?');
      for (const u of refundUpdates) {
        const moved = nextRefundStatus(u.s_status as RefundStatus, u.status as RefundStatus);
        const status = moved.changed ? moved.status : (u.s_status as string);
        setRefund.run(status, u.paid_at ?? u.s_paid, u.s_trade ?? u.trade_no, now, u.refund_no);
        if (moved.changed) {
          event.run(now, 'refund.status', u.channel, u.order_no, u.refund_no, JSON.stringify({ from: u.s_status, to: status, source: 'import', line: u.line, fileSha256: file.sha256 }));
        }
      }

      // Orders with imported refunds: refunded total from their succeeded refunds; fully refunded
      // orders become refunded (the checks guarantee the file agrees).
      this.db
        .prepare(
          `UPDATE orders SET
             refunded_minor = (SELECT COALESCE(SUM(f.amount_minor), 0) FROM refunds f WHERE f.order_no = orders.order_no AND f.status = 'succeeded'),
             updated_at = :now
           WHERE order_no IN (SELECT order_no FROM temp.imp WHERE kind = 'refund' AND action IN ('insert', 'update'))`,
        )
        .run({ now });
      const toRefunded = this.db
        .prepare(
          `SELECT order_no, channel, status FROM orders
           WHERE order_no IN (SELECT order_no FROM temp.imp WHERE kind = 'refund' AND action IN ('insert', 'update'))
             AND status = 'succeeded' AND refunded_minor = amount_minor`,
        )
        .all() as Row[];
      const setStatus = this.db.prepare("UPDATE orders SET status = 'refunded' WHERE order_no = ?");
      for (const o of toRefunded) {
        setStatus.run(o.order_no);
        event.run(now, 'order.status', o.channel, o.order_no, null, JSON.stringify({ from: 'succeeded', to: 'refunded', source: 'import', fileSha256: file.sha256 }));
      }

      const counts = this.countsNow(rows);
      event.run(now, 'orders.imported', null, null, null, JSON.stringify({ file: file.path, fileSha256: file.sha256, ...counts }));
      return counts;
    });
  }
}
