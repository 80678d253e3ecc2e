/**
 * Saved runs and items, and the book lookups, of a {@link ReconcileStore}, in SQL both SQLite and
 * PostgreSQL run as written (`?` placeholders; the tables and columns are the same). A backend
 * supplies statements, the bill stage and transactions.
 */
import type { StageScope } from './reconcile-store.js';
import type { BookEntry, EntryKind, ItemClass } from '../reconcile/classify.js';
import {
  CARRYABLE_SQL,
  type BillStage,
  type CurrencyTotals,
  type ItemRecord,
  type NewItem,
  type NewRun,
  type OpenItem,
  type ReconcileStore,
  type RunCounts,
  type RunRecord,
  type SideTotals,
} from './reconcile-store.js';
import { orderEntry, refundEntry, rowToItem, rowToRun, type Row } from './rows.js';

/** Columns of reconcile_items a new item fills, in {@link itemValues} order. */
export const ITEM_COLUMNS = [
  'run_id',
  'channel',
  'class',
  'item_key',
  'kind',
  'order_no',
  'refund_no',
  'channel_trade_no',
  'bill_line',
  'bill_amount_minor',
  'bill_fee_minor',
  'bill_currency',
  'bill_time',
  'bill_status',
  'local_status',
  'local_amount_minor',
  'local_currency',
  'local_time',
  'note',
  'carried_from',
  'origin_item',
] as const;
/** Items per INSERT (21 values each: within both backends' limits on parameters). */
const ITEM_BATCH = 1000;

const marks = (n: number) => Array(n).fill('?').join(', ');

/** Reconciliation storage over portable SQL. */
export abstract class SqlReconcileStore implements ReconcileStore {
  /** Rows of a statement. */
  protected abstract all<R extends Row = Row>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a statement. */
  protected abstract run(sql: string, params?: unknown[]): Promise<void>;
  /** Inserts one row into a table keyed by `id`; returns the id. */
  protected abstract insertId(sql: string, params: unknown[]): Promise<number>;
  abstract openStage(scope?: StageScope): Promise<BillStage>;
  abstract transaction<T>(fn: () => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;

  async findByTradeNo(channel: string, kind: EntryKind, tradeNo: string): Promise<BookEntry | undefined> {
    if (kind === 'refund') {
      const [r] = await this.all('SELECT * FROM refunds WHERE channel = ? AND channel_refund_no = ? LIMIT 1', [channel, tradeNo]);
      return r ? refundEntry(r) : undefined;
    }
    const [r] = await this.all('SELECT * FROM orders WHERE channel = ? AND channel_trade_no = ? AND kind = ? LIMIT 1', [channel, tradeNo, kind === 'payout' ? 'payout' : 'collect']);
    return r ? orderEntry(r) : undefined;
  }

  async entryByKey(channel: string, key: string): Promise<BookEntry | undefined> {
    const [tag, a, b] = key.split('|');
    if (tag === 'P' || tag === 'T') {
      const [r] = await this.all('SELECT * FROM orders WHERE order_no = ?', [a]);
      if (!r || r.channel !== channel || r.kind !== (tag === 'P' ? 'collect' : 'payout')) return undefined;
      return orderEntry(r);
    }
    if (tag === 'R') {
      const [r] = await this.all('SELECT * FROM refunds WHERE refund_no = ?', [a]);
      return r && r.channel === channel ? refundEntry(r) : undefined;
    }
    if (tag === 'X' && b) return this.findByTradeNo(channel, a as EntryKind, b);
    return undefined;
  }

  async booksTotals(channel: string, start: string, end: string): Promise<Map<string, SideTotals>> {
    return this.booksTotalsWith((sql, params) => this.all(sql, params), channel, start, end);
  }

  /** {@link booksTotals} through a given statement runner (a backend may use another connection). */
  protected async booksTotalsWith(
    all: <R extends Row = Row>(sql: string, params: unknown[]) => Promise<R[]>,
    channel: string,
    start: string,
    end: string,
  ): Promise<Map<string, SideTotals>> {
    const [orders, refunds] = booksTotalsStatements(channel, start, end);
    return foldBooksTotals(await all(orders.sql, orders.params), await all(refunds.sql, refunds.params));
  }

  async findRunByFile(channel: string, date: string, sha256: string): Promise<RunRecord | undefined> {
    const [r] = await this.all('SELECT * FROM reconcile_runs WHERE channel = ? AND date = ? AND bill_sha256 = ?', [channel, date, sha256]);
    return r ? rowToRun(r) : undefined;
  }

  async currentRuns(channel: string, date: string): Promise<RunRecord[]> {
    return (await this.all('SELECT * FROM reconcile_runs WHERE channel = ? AND date = ? AND superseded_by IS NULL ORDER BY id', [channel, date])).map(rowToRun);
  }

  async deleteRun(id: number): Promise<void> {
    await this.run('DELETE FROM reconcile_runs WHERE id = ?', [id]);
  }

  async supersede(oldId: number, newId: number): Promise<void> {
    await this.run('UPDATE reconcile_runs SET superseded_by = ? WHERE id = ?', [newId, oldId]);
    await this.run('UPDATE reconcile_items SET closed_by_run = NULL, closed_at = NULL WHERE closed_by_run = ?', [oldId]);
  }

  async insertRun(run: NewRun): Promise<number> {
    return this.insertId(
      `INSERT INTO reconcile_runs (channel, date, time_zone, source, bill_path, bill_format, bill_sha256, bill_bytes, mapping_sha256, bill_rows,
         matched, missing_local, missing_channel, amount_mismatch, status_mismatch, currency_mismatch, duplicate, carried_over, resolved, totals, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', ?, ?)`,
      [run.channel, run.date, run.timeZone, run.source, run.billPath, run.billFormat, run.billSha256, run.billBytes, run.mappingSha256 ?? null, run.billRows, run.startedAt, run.startedAt],
    );
  }

  async finishRun(id: number, counts: RunCounts, totals: CurrencyTotals[], finishedAt: string): Promise<void> {
    await this.run(
      `UPDATE reconcile_runs SET matched = ?, missing_local = ?, missing_channel = ?, amount_mismatch = ?, status_mismatch = ?, currency_mismatch = ?,
         duplicate = ?, carried_over = ?, resolved = ?, totals = ?, finished_at = ? WHERE id = ?`,
      [
        counts.matched,
        counts.missingLocal,
        counts.missingChannel,
        counts.amountMismatch,
        counts.statusMismatch,
        counts.currencyMismatch,
        counts.duplicate,
        counts.carriedOver,
        counts.resolved,
        JSON.stringify(totals),
        finishedAt,
        id,
      ],
    );
  }

  async insertItems(items: readonly NewItem[]): Promise<void> {
    for (let i = 0; i < items.length; i += ITEM_BATCH) {
      const batch = items.slice(i, i + ITEM_BATCH);
      const params: unknown[] = [];
      const values = batch.map((item) => {
        params.push(
          item.runId,
          item.channel,
          item.class,
          item.key,
          item.kind,
          item.orderNo ?? null,
          item.refundNo ?? null,
          item.channelTradeNo ?? null,
          item.bill?.line ?? null,
          item.bill?.amountMinor ?? null,
          item.bill?.feeMinor ?? null,
          item.bill?.currency ?? null,
          item.bill?.time ?? null,
          item.bill?.status ?? null,
          item.local?.status ?? null,
          item.local?.amountMinor ?? null,
          item.local?.currency ?? null,
          item.local?.time ?? null,
          item.note ?? null,
          item.carriedFrom ?? null,
          item.originItem ?? null,
        );
        return `(${ITEM_COLUMNS.map(() => '?').join(', ')})`;
      });
      await this.run(`INSERT INTO reconcile_items (${ITEM_COLUMNS.join(', ')}) VALUES ${values.join(', ')}`, params);
    }
  }

  async closeItem(id: number, runId: number, at: string): Promise<void> {
    await this.run('UPDATE reconcile_items SET closed_by_run = ?, closed_at = ? WHERE id = ?', [runId, at, id]);
  }

  async openBookItem(channel: string, key: string, date: string): Promise<OpenItem | undefined> {
    const [r] = await this.all(
      `SELECT i.*, r.date AS run_date FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
       WHERE i.channel = ? AND i.item_key = ? AND i.closed_by_run IS NULL AND i.class IN ('missingChannel', 'carriedOver')
         AND r.superseded_by IS NULL AND r.date < ?
       ORDER BY r.date LIMIT 1`,
      [channel, key, date],
    );
    return r ? { ...rowToItem(r), runDate: r.run_date as string } : undefined;
  }

  async openItemsBefore(channel: string, date: string): Promise<OpenItem[]> {
    const rows = await this.all(
      `SELECT i.*, r.date AS run_date FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
       WHERE i.channel = ? AND i.closed_by_run IS NULL AND i.class IN (${CARRYABLE_SQL})
         AND r.superseded_by IS NULL AND r.date < ?
       ORDER BY r.date, i.id`,
      [channel, date],
    );
    return rows.map((r) => ({ ...rowToItem(r), runDate: r.run_date as string }));
  }

  async countOpen(channel: string, date: string): Promise<number> {
    const [r] = await this.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
       WHERE i.channel = ? AND i.closed_by_run IS NULL AND i.class IN (${CARRYABLE_SQL})
         AND r.superseded_by IS NULL AND r.date <= ?`,
      [channel, date],
    );
    return r.n;
  }

  async getRun(id: number): Promise<RunRecord | undefined> {
    const [r] = await this.all('SELECT * FROM reconcile_runs WHERE id = ?', [id]);
    return r ? rowToRun(r) : undefined;
  }

  async listRuns(filter: { channel?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const rows = filter.channel
      ? await this.all('SELECT * FROM reconcile_runs WHERE channel = ? ORDER BY date DESC, id DESC LIMIT ?', [filter.channel, filter.limit ?? 20])
      : await this.all('SELECT * FROM reconcile_runs ORDER BY date DESC, id DESC LIMIT ?', [filter.limit ?? 20]);
    return rows.map(rowToRun);
  }

  async *items(runId: number, classes: readonly ItemClass[], limit = Number.MAX_SAFE_INTEGER): AsyncGenerator<ItemRecord> {
    let after = 0;
    let left = limit;
    while (left > 0) {
      const size = Math.min(left, 2000);
      const page = await this.all(`SELECT * FROM reconcile_items WHERE run_id = ? AND class IN (${marks(classes.length)}) AND id > ? ORDER BY id LIMIT ?`, [runId, ...classes, after, size]);
      for (const r of page) yield rowToItem(r);
      if (page.length < size) return;
      left -= page.length;
      after = page[page.length - 1].id as number;
    }
  }

  async countItems(runId: number, classes: readonly ItemClass[]): Promise<number> {
    const [r] = await this.all<{ n: number }>(`SELECT COUNT(*) AS n FROM reconcile_items WHERE run_id = ? AND class IN (${marks(classes.length)})`, [runId, ...classes]);
    return r.n;
  }

  async event(type: string, channel: string, data: Record<string, unknown>, at: string): Promise<void> {
    await this.run('INSERT INTO events (at, type, channel, data) VALUES (?, ?, ?, ?)', [at, type, channel, JSON.stringify(data)]);
  }

}

/** A statement and its parameters. */
export interface BoundSql {
  sql: string;
  params: unknown[];
}

/** The statements {@link foldBooksTotals} sums: the day's settled orders, then refunds, per currency. */
export function booksTotalsStatements(channel: string, start: string, end: string): [BoundSql, BoundSql] {
  return [
    {
      sql: `SELECT currency, kind, COUNT(*) AS n, SUM(amount_minor) AS total FROM orders
       WHERE channel = ? AND paid_at IS NOT NULL AND paid_at >= ? AND paid_at < ?
         AND ((kind = 'collect' AND status IN ('succeeded', 'refunded')) OR (kind = 'payout' AND status = 'succeeded'))
       GROUP BY currency, kind`,
      params: [channel, start, end],
    },
    {
      sql: `SELECT currency, COUNT(*) AS n, SUM(amount_minor) AS total FROM refunds
       WHERE channel = ? AND refunded_at IS NOT NULL AND refunded_at >= ? AND refunded_at < ? AND status = 'succeeded'
       GROUP BY currency`,
      params: [channel, start, end],
    },
  ];
}

/** The books' totals per currency from the rows of {@link booksTotalsStatements}. */
export function foldBooksTotals(orders: Row[], refunds: Row[]): Map<string, SideTotals> {
  const out = new Map<string, SideTotals>();
  const side = (currency: string) => {
    let t = out.get(currency);
    if (!t) out.set(currency, (t = { count: 0, grossMinor: 0, refundsMinor: 0, payoutsMinor: 0, feesMinor: 0, adjustmentsMinor: 0, netMinor: 0 }));
    return t;
  };
  for (const r of orders as { currency: string; kind: string; n: number; total: number }[]) {
    const t = side(r.currency);
    t.count += r.n;
    if (r.kind === 'collect') t.grossMinor += r.total;
    else t.payoutsMinor += r.total;
  }
  for (const r of refunds as { currency: string; n: number; total: number }[]) {
    const t = side(r.currency);
    t.count += r.n;
    t.refundsMinor += r.total;
  }
  for (const t of out.values()) t.netMinor = t.grossMinor - t.refundsMinor - t.payoutsMinor;
  return out;
}
