/**
 * The whole-file checks and the write of a bulk order import, in SQL both SQLite and PostgreSQL
 * run as written (unqualified names find the temporary stage first; `?` placeholders). A backend
 * supplies the stage (its temporary tables and how rows get there), statements and transactions.
 */
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

type Row = Record<string, unknown>;

/** The stage's rows to create: good rows the checks left without an action (new to the books). */
const INSERT = 'bad = 0 AND action IS NULL';

/** Columns of the `imp` stage a backend fills, in this order. */
export const IMPORT_COLUMNS = ['line', 'k', 'kind', 'order_no', 'refund_no', 'channel', 'amount', 'currency', 'status', 'created_at', 'paid_at', 'trade_no'] as const;

/** The stage's key of a row: `O|order` for orders and payouts, `R|refund` for refunds. */
export const importKey = (r: ImportRow) => (r.kind === 'refund' ? `R|${r.refundNo}` : `O|${r.orderNo}`);

/** The stage's values of a row, in {@link IMPORT_COLUMNS} order. */
export const importValues = (r: ImportRow): (string | number | null)[] => [
  r.line,
  importKey(r),
  r.kind,
  r.orderNo,
  r.refundNo,
  r.channel,
  r.amountMinor,
  r.currency,
  r.status,
  r.createdAt,
  r.paidAt,
  r.channelTradeNo,
];

/** An import whose stage is `imp` (rows) and `imp_err` (problems) on one connection. */
export abstract class StagedOrderImport implements OrderImport {
  private problemsKept = 0;
  rejectedRows = 0;
  /** The SQL function building a JSON object (json_object, json_build_object). */
  protected abstract readonly jsonObject: string;

  constructor(private readonly maxProblems = MAX_PROBLEMS) {}

  abstract begin(): Promise<void>;
  abstract stage(rows: readonly ImportRow[]): Promise<void>;
  abstract end(): Promise<void>;
  /** Rows of a statement. */
  protected abstract all(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a statement; returns the rows it changed. */
  protected abstract run(sql: string, params?: unknown[]): Promise<number>;
  /** Runs `fn` in one write transaction. */
  protected abstract transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Refreshes the planner's statistics on the stage (where the backend needs it). */
  protected abstract analyze(): Promise<void>;
  protected abstract now(): string;

  async problem(p: ImportProblem): Promise<void> {
    this.rejectedRows++;
    if (this.problemsKept++ < this.maxProblems) await this.run('INSERT INTO imp_err (line, order_no, refund_no, message) VALUES (?, ?, ?, ?)', [p.line, p.orderNo ?? null, p.refundNo ?? null, p.message]);
  }

  /** Marks a staged row bad with a problem. */
  private async reject(line: number, orderNo: string | null, refundNo: string | null, message: string): Promise<void> {
    const changed = await this.run('UPDATE imp SET bad = 1 WHERE line = ? AND bad = 0', [line]);
    if (changed) await this.problem({ line, orderNo: orderNo ?? undefined, refundNo: refundNo ?? undefined, message });
  }

  /**
   * Runs the whole-file checks. Decides, for each good row, whether it creates, updates or
   * leaves unchanged what is stored.
   */
  async check(): Promise<void> {
    await this.run('CREATE INDEX imp_k ON imp (k)');
    await this.run('CREATE INDEX imp_order ON imp (order_no)');
    await this.analyze();

    // Keys repeated in the file: the first row stands, later ones are rejected.
    const dups = await this.all(`SELECT i.line, i.kind, i.order_no, i.refund_no, (SELECT MIN(j.line) FROM imp j WHERE j.k = i.k) AS first
         FROM imp i WHERE EXISTS (SELECT 1 FROM imp j WHERE j.k = i.k AND j.line < i.line) ORDER BY i.line`);
    for (const d of dups) {
      const what = d.kind === 'refund' ? `refund_no ${String(d.refund_no)}` : `order_no ${String(d.order_no)}`;
      await this.reject(d.line as number, d.order_no as string, d.refund_no as string | null, `${what} already appears on line ${String(d.first)}`);
    }

    // Orders and payouts already stored: identical, a forward move, or a conflict.
    const orderDiffs = await this.all(`SELECT i.line, i.kind, i.order_no, i.channel, i.amount, i.currency, i.status, i.created_at, i.paid_at, i.trade_no,
                o.kind AS s_kind, o.channel AS s_channel, o.amount_minor AS s_amount, o.currency AS s_currency, o.status AS s_status,
                o.created_at AS s_created, o.paid_at AS s_paid, o.channel_trade_no AS s_trade
         FROM imp i JOIN orders o ON o.order_no = i.order_no
         WHERE i.kind <> 'refund' AND i.bad = 0 AND (
           o.kind <> CASE i.kind WHEN 'payment' THEN 'collect' ELSE 'payout' END OR o.channel <> i.channel OR o.amount_minor <> i.amount
           OR o.currency <> i.currency OR o.created_at <> i.created_at OR o.status <> i.status OR o.paid_at IS DISTINCT FROM i.paid_at
           OR o.channel_trade_no IS DISTINCT FROM i.trade_no)`);
    for (const d of orderDiffs) {
      const conflict = orderConflict(d);
      if (conflict === 'same') continue;
      if (conflict) await this.reject(d.line as number, d.order_no as string, null, conflict);
      else await this.run("UPDATE imp SET action = 'update' WHERE line = ?", [d.line]);
    }

    // Refunds: their order must be in the file or the books, paid, same channel and currency.
    const refunds = await this.all(`SELECT r.line, r.order_no, r.refund_no, r.channel, r.currency, r.status, r.amount,
                o.line AS f_line, o.kind AS f_kind, o.channel AS f_channel, o.currency AS f_currency, o.status AS f_status, o.bad AS f_bad,
                s.kind AS s_kind, s.channel AS s_channel, s.currency AS s_currency, s.status AS s_status
         FROM imp r
         LEFT JOIN imp o ON o.k = 'O|' || r.order_no AND o.line = (SELECT MIN(line) FROM imp x WHERE x.k = 'O|' || r.order_no)
         LEFT JOIN orders s ON s.order_no = r.order_no
         WHERE r.kind = 'refund' AND r.bad = 0 AND (
           (o.line IS NULL AND s.order_no IS NULL) OR o.bad = 1
           OR COALESCE(o.kind, CASE s.kind WHEN 'collect' THEN 'payment' ELSE 'payout' END) <> 'payment'
           OR COALESCE(o.channel, s.channel) <> r.channel OR COALESCE(o.currency, s.currency) <> r.currency
           OR COALESCE(o.status, s.status) NOT IN ('succeeded', 'refunded'))`);
    for (const r of refunds) await this.reject(r.line as number, r.order_no as string, r.refund_no as string, refundOrderProblem(r));

    // Refunds already stored: identical, a forward move, or a conflict.
    const refundDiffs = await this.all(`SELECT i.line, i.order_no, i.refund_no, i.amount, i.status, i.created_at, i.paid_at, i.trade_no,
                f.order_no AS s_order, f.amount_minor AS s_amount, f.status AS s_status, f.created_at AS s_created,
                f.refunded_at AS s_paid, f.channel_refund_no AS s_trade
         FROM imp i JOIN refunds f ON f.refund_no = i.refund_no
         WHERE i.kind = 'refund' AND i.bad = 0 AND (
           f.order_no <> i.order_no OR f.amount_minor <> i.amount OR f.status <> i.status OR f.created_at <> i.created_at
           OR f.refunded_at IS DISTINCT FROM i.paid_at OR f.channel_refund_no IS DISTINCT FROM i.trade_no)`);
    for (const d of refundDiffs) {
      const conflict = refundConflict(d);
      if (conflict === 'same') continue;
      if (conflict) await this.reject(d.line as number, d.order_no as string, d.refund_no as string, conflict);
      else await this.run("UPDATE imp SET action = 'update' WHERE line = ?", [d.line]);
    }

    // Refund totals per order: stored succeeded refunds not in the file, plus the file's.
    const totals = await this.all(`WITH touched AS (SELECT DISTINCT order_no FROM imp WHERE kind = 'refund' AND bad = 0
                          UNION SELECT order_no FROM imp WHERE kind = 'payment' AND status = 'refunded' AND bad = 0),
              sums AS (
                SELECT t.order_no,
                  (SELECT COALESCE(SUM(f.amount_minor), 0) FROM refunds f WHERE f.order_no = t.order_no AND f.status = 'succeeded'
                     AND NOT EXISTS (SELECT 1 FROM imp x WHERE x.k = 'R|' || f.refund_no AND x.bad = 0))
                  + (SELECT COALESCE(SUM(r.amount), 0) FROM imp r WHERE r.kind = 'refund' AND r.bad = 0 AND r.order_no = t.order_no AND r.status = 'succeeded') AS refunded,
                  (SELECT COUNT(*) FROM refunds f WHERE f.order_no = t.order_no)
                  + (SELECT COUNT(*) FROM imp r WHERE r.kind = 'refund' AND r.bad = 0 AND r.order_no = t.order_no) AS n
                FROM touched t)
         SELECT s.order_no, s.refunded, s.n, COALESCE(o.amount, so.amount_minor) AS amount, COALESCE(o.currency, so.currency) AS currency,
                COALESCE(o.status, so.status) AS status, o.line AS line
         FROM sums s
         LEFT JOIN imp o ON o.k = 'O|' || s.order_no AND o.bad = 0
         LEFT JOIN orders so ON so.order_no = s.order_no`);
    for (const t of totals) {
      if (t.amount === null) continue; // its order was rejected; its refunds were rejected with it
      const msg = refundTotalProblem(t);
      if (!msg) continue;
      if (t.line !== null) await this.reject(t.line as number, t.order_no as string, null, msg);
      for (const r of await this.all("SELECT line, refund_no FROM imp WHERE kind = 'refund' AND bad = 0 AND order_no = ? ORDER BY line", [t.order_no])) await this.reject(r.line as number, t.order_no as string, r.refund_no as string, msg);
    }

    // Refunds whose order was rejected by the checks above go with it.
    const orphans = await this.all(`SELECT r.line, r.order_no, r.refund_no, o.line AS o_line FROM imp r JOIN imp o ON o.k = 'O|' || r.order_no
         WHERE r.kind = 'refund' AND r.bad = 0 AND o.bad = 1`);
    for (const r of orphans) await this.reject(r.line as number, r.order_no as string, r.refund_no as string, `its order on line ${String(r.o_line)} was rejected`);

    // Good rows the books already hold as they are: left alone. Every other good row is new and
    // keeps a NULL action (see INSERT): marking millions of new rows would rewrite the whole stage.
    await this.run(`UPDATE imp SET action = 'same' WHERE ${INSERT} AND kind <> 'refund' AND EXISTS (SELECT 1 FROM orders o WHERE o.order_no = imp.order_no)`);
    await this.run(`UPDATE imp SET action = 'same' WHERE ${INSERT} AND kind = 'refund' AND EXISTS (SELECT 1 FROM refunds f WHERE f.refund_no = imp.refund_no)`);
  }

  async problems(): Promise<ImportProblem[]> {
    return (await this.all('SELECT * FROM imp_err ORDER BY line, seq')).map((r) => {
      const p: ImportProblem = { line: r.line as number, message: r.message as string };
      if (r.order_no !== null) p.orderNo = r.order_no as string;
      if (r.refund_no !== null) p.refundNo = r.refund_no as string;
      return p;
    });
  }

  async counts(rows: number): Promise<ImportCounts> {
    const [c] = await this.all(
      `SELECT
         SUM(CASE WHEN action IS NULL AND kind <> 'refund' THEN 1 ELSE 0 END) AS oc, SUM(CASE WHEN action IS NULL AND kind = 'refund' THEN 1 ELSE 0 END) AS rc,
         SUM(CASE WHEN action = 'update' THEN 1 ELSE 0 END) AS up, SUM(CASE WHEN action = 'same' THEN 1 ELSE 0 END) AS same
       FROM imp WHERE bad = 0`,
    );
    const n = (v: unknown) => (v as number | null) ?? 0;
    return { rows, ordersCreated: n(c.oc), refundsCreated: n(c.rc), updated: n(c.up), unchanged: n(c.same), rejected: this.rejectedRows };
  }

  /** Writes the good rows in one transaction. */
  async apply(file: { path: string; sha256: string }, rows: number): Promise<ImportCounts> {
    return this.transaction(async () => {
      const now = this.now();
      const json = this.jsonObject;
      // Events first: they select the rows about to be created.
      await this.run(`INSERT INTO events (at, type, channel, order_no, data)
           SELECT ?, 'order.created', channel, order_no,
                  ${json}('source', 'import', 'kind', CASE kind WHEN 'payment' THEN 'collect' ELSE 'payout' END, 'status', status,
                              'amountMinor', amount, 'currency', currency, 'line', line, 'fileSha256', CAST(? AS TEXT))
           FROM imp WHERE ${INSERT} AND kind <> 'refund' ORDER BY line`, [now, file.sha256]);
      await this.run(`INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, refunded_minor, channel_trade_no, source, created_at, updated_at, paid_at)
           SELECT order_no, CASE kind WHEN 'payment' THEN 'collect' ELSE 'payout' END, channel, status, amount, currency,
                  CASE status WHEN 'refunded' THEN amount ELSE 0 END, trade_no, 'import', created_at, ?, paid_at
           FROM imp WHERE ${INSERT} AND kind <> 'refund' ORDER BY line`, [now]);

      // Stored orders moving forward (the state machine decides) or gaining a trade number.
      const updates = await this.all("SELECT i.*, o.status AS s_status, o.channel_trade_no AS s_trade, o.paid_at AS s_paid FROM imp i JOIN orders o ON o.order_no = i.order_no WHERE i.action = 'update' AND i.kind <> 'refund'");
      const event = (type: string, channel: unknown, orderNo: unknown, refundNo: unknown, data: Record<string, unknown>) =>
        this.run('INSERT INTO events (at, type, channel, order_no, refund_no, data) VALUES (?, ?, ?, ?, ?, ?)', [now, type, channel, orderNo, refundNo, JSON.stringify(data)]);
      for (const u of updates) {
        const moved = nextOrderStatus(u.s_status as OrderStatus, u.status as OrderStatus);
        const status = moved.changed ? moved.status : (u.s_status as string);
        await this.run('UPDATE orders SET status = ?, paid_at = ?, channel_trade_no = ?, updated_at = ? WHERE order_no = ?', [status, u.paid_at ?? u.s_paid, u.s_trade ?? u.trade_no, now, u.order_no]);
        if (moved.changed) {
          await event('order.status', u.channel, u.order_no, null, { from: u.s_status, to: status, source: 'import', line: u.line, fileSha256: file.sha256 });
        }
      }

      await this.run(`INSERT INTO events (at, type, channel, order_no, refund_no, data)
           SELECT ?, 'refund.created', channel, order_no, refund_no,
                  ${json}('source', 'import', 'status', status, 'amountMinor', amount, 'currency', currency, 'line', line, 'fileSha256', CAST(? AS TEXT))
           FROM imp WHERE ${INSERT} AND kind = 'refund' ORDER BY line`, [now, file.sha256]);
      await this.run(`INSERT INTO refunds (refund_no, order_no, channel, status, amount_minor, currency, channel_refund_no, created_at, updated_at, refunded_at)
           SELECT refund_no, order_no, channel, status, amount, currency, trade_no, created_at, ?, paid_at
           FROM imp WHERE ${INSERT} AND kind = 'refund' ORDER BY line`, [now]);
      const refundUpdates = await this.all("SELECT i.*, f.status AS s_status, f.channel_refund_no AS s_trade, f.refunded_at AS s_paid FROM imp i JOIN refunds f ON f.refund_no = i.refund_no WHERE i.action = 'update' AND i.kind = 'refund'");
      for (const u of refundUpdates) {
        const moved = nextRefundStatus(u.s_status as RefundStatus, u.status as RefundStatus);
        const status = moved.changed ? moved.status : (u.s_status as string);
        await this.run('UPDATE refunds SET status = ?, refunded_at = ?, channel_refund_no = ?, updated_at = ? WHERE refund_no = ?', [status, u.paid_at ?? u.s_paid, u.s_trade ?? u.trade_no, now, u.refund_no]);
        if (moved.changed) {
          await event('refund.status', u.channel, u.order_no, u.refund_no, { from: u.s_status, to: status, source: 'import', line: u.line, fileSha256: file.sha256 });
        }
      }

      // Orders with imported refunds: refunded total from their succeeded refunds; fully refunded
      // orders become refunded (the checks guarantee the file agrees).
      await this.run(`UPDATE orders SET
             refunded_minor = (SELECT COALESCE(SUM(f.amount_minor), 0) FROM refunds f WHERE f.order_no = orders.order_no AND f.status = 'succeeded'),
             updated_at = ?
           WHERE order_no IN (SELECT order_no FROM imp WHERE kind = 'refund' AND bad = 0 AND (action IS NULL OR action = 'update'))`, [now]);
      const toRefunded = await this.all(`SELECT order_no, channel, status FROM orders
           WHERE order_no IN (SELECT order_no FROM imp WHERE kind = 'refund' AND bad = 0 AND (action IS NULL OR action = 'update'))
             AND status = 'succeeded' AND refunded_minor = amount_minor`);
      for (const o of toRefunded) {
        await this.run("UPDATE orders SET status = 'refunded' WHERE order_no = ?", [o.order_no]);
        await event('order.status', o.channel, o.order_no, null, { from: 'succeeded', to: 'refunded', source: 'import', fileSha256: file.sha256 });
      }

      const counts = await this.counts(rows);
      await event('orders.imported', null, null, null, { file: file.path, fileSha256: file.sha256, ...counts });
      return counts;
    });
  }
}
