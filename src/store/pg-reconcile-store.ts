/**
 * The PostgreSQL {@link ReconcileStore}. A bill is streamed with COPY into temporary tables on a
 * connection of its own (temporary tables live on one connection), indexed and analysed, and
 * paired with the books by SQL on the server: the client holds one batch of rows and one page of
 * odd rows at a time, whatever the size of the bill or the books. The run is saved in one
 * transaction on that same connection; a lost connection rolls it back whole.
 */
import type { Writable } from 'node:stream';
import type pg from 'pg';
import type { BillRow } from '../channel/contract.js';
import { billKey, type BookEntry, type EntryKind, type ItemClass } from '../reconcile/classify.js';
import { insertEvent, type PgDb } from './pg-db.js';
import {
  CARRYABLE_SQL,
  FAILED_SQL,
  type BillStage,
  type BillSum,
  type CurrencyTotals,
  type ItemRecord,
  type NewItem,
  type NewRun,
  type OpenItem,
  type ReconcileStore,
  type RunCounts,
  type RunRecord,
  type SideTotals,
  type StagedPair,
  type UnbilledCounts,
} from './reconcile-store.js';
import { nn, orderEntry, refundEntry, rowToItem, rowToRun, type Row } from './rows.js';

/** A value in COPY's text format: \N for null; backslash, tab, newline and CR escaped. */
export function copyText(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** A COPY ... FROM STDIN stream on `client`, written to in chunks of text lines. */
export class CopyIn {
  private error: Error | undefined;
  private readonly done: Promise<void>;

  private constructor(private readonly stream: Writable) {
    this.done = new Promise((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', (err) => {
        this.error = err;
        reject(err);
      });
    });
    this.done.catch(() => {});
  }

  static async start(client: pg.PoolClient, sql: string): Promise<CopyIn> {
    const { from } = await import('pg-copy-streams');
    return new CopyIn(client.query(from(sql)) as unknown as Writable);
  }

  /** Writes lines; waits when the socket is full. */
  async write(text: string): Promise<void> {
    if (this.error) throw this.error;
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.stream.off('error', onError);
          resolve();
        };
        const onError = (err: Error) => {
          this.stream.off('drain', onDrain);
          reject(err);
        };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  /** Ends the COPY and waits for the server to take it. */
  async end(): Promise<void> {
    if (this.error) throw this.error;
    this.stream.end();
    await this.done;
  }
}

const STAGED = 'seq, line, k, kind, order_no, refund_no, trade_no, amount, fee, currency, time, status';

/** The book entry a staged row's own key names: same number, same kind. */
const JOIN_BOOKS = `
  LEFT JOIN orders o ON b.kind IN ('payment', 'payout') AND o.order_no = b.order_no
    AND o.kind = CASE b.kind WHEN 'payment' THEN 'collect' ELSE 'payout' END
  LEFT JOIN refunds f ON b.kind = 'refund' AND f.refund_no = b.refund_no`;

/** A bill staged in temporary tables on the store's connection. */
class PgBillStage implements BillStage {
  private copy: CopyIn | undefined;
  private seq = 0;

  constructor(private readonly rs: PgReconcileStore) {}

  async create(): Promise<void> {
    await this.rs.q(`
      DROP TABLE IF EXISTS pg_temp.rc_bill, pg_temp.rc_hits, pg_temp.rc_dup, pg_temp.rc_odd;
      CREATE TEMP TABLE rc_bill (
        seq BIGINT NOT NULL, line BIGINT NOT NULL, k TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL, order_no TEXT COLLATE "C",
        refund_no TEXT COLLATE "C", trade_no TEXT COLLATE "C", amount BIGINT NOT NULL, fee BIGINT NOT NULL, currency TEXT COLLATE "C" NOT NULL,
        time TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C"
      );
      CREATE TEMP TABLE rc_hits (k TEXT COLLATE "C" PRIMARY KEY);`);
  }

  async add(rows: readonly BillRow[]): Promise<void> {
    if (rows.length === 0) return;
    this.copy ??= await this.rs.guard(() => CopyIn.start(this.rs.client, `COPY rc_bill (${STAGED}) FROM STDIN`));
    let text = '';
    for (const r of rows) {
      text += `${++this.seq}\t${r.line}\t${copyText(billKey(r))}\t${r.kind}\t${copyText(r.orderNo || null)}\t${copyText(r.refundNo || null)}\t${copyText(r.channelTradeNo || null)}\t${r.amountMinor}\t${r.feeMinor ?? 0}\t${r.currency}\t${copyText(r.time)}\t${copyText(r.status || null)}\n`;
    }
    await this.rs.guard(() => this.copy!.write(text));
  }

  async seal(): Promise<void> {
    if (this.copy) await this.rs.guard(() => this.copy!.end());
    this.copy = undefined;
    // No index on the stage: the server pairs it by hash joins. Keys listed more than once are
    // few; they get a small table of their own.
    await this.rs.q(`
      CREATE TEMP TABLE rc_dup AS SELECT k, MIN(seq) AS first FROM rc_bill GROUP BY k HAVING COUNT(*) > 1;
      ALTER TABLE rc_dup ADD PRIMARY KEY (k);
      ANALYZE rc_bill; ANALYZE rc_dup;`);
  }

  async drop(): Promise<void> {
    await this.rs.q('DROP TABLE IF EXISTS pg_temp.rc_bill, pg_temp.rc_hits, pg_temp.rc_dup, pg_temp.rc_odd');
  }

  async markOdd(channel: string, start: string, end: string): Promise<number> {
    const plain = `(COALESCE(d.first, b.seq) = b.seq
        AND (b.status IS NULL OR lower(trim(b.status)) NOT IN (${FAILED_SQL}))
        AND CASE WHEN b.kind = 'refund' THEN
              f.refund_no IS NOT NULL AND f.channel = $1 AND f.currency = b.currency AND f.amount_minor = abs(b.amount)
              AND f.status = 'succeeded' AND f.refunded_at >= $2 AND f.refunded_at < $3
            ELSE
              o.order_no IS NOT NULL AND o.channel = $1 AND o.currency = b.currency AND o.amount_minor = abs(b.amount)
              AND (o.status = 'succeeded' OR (b.kind = 'payment' AND o.status = 'refunded'))
              AND o.paid_at >= $2 AND o.paid_at < $3
            END)`;
    // The odd rows are copied out whole (few, as a rule), so that paging them needs no index on the stage.
    await this.rs.q('DROP TABLE IF EXISTS pg_temp.rc_odd');
    await this.rs.q(
      `CREATE TEMP TABLE rc_odd AS
       SELECT b.*, COALESCE(d.first, b.seq) AS first FROM rc_bill b LEFT JOIN rc_dup d ON d.k = b.k ${JOIN_BOOKS}
       WHERE b.kind IN ('payment', 'refund', 'payout') AND NOT COALESCE(${plain}, false)`,
      [channel, start, end],
    );
    await this.rs.q('ALTER TABLE rc_odd ADD PRIMARY KEY (seq)');
    const [c] = await this.rs.q<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM rc_bill WHERE kind IN ('payment', 'refund', 'payout')) - (SELECT COUNT(*) FROM rc_odd) AS n`,
    );
    return c.n;
  }

  async oddPage(afterSeq: number, limit: number): Promise<StagedPair[]> {
    const rows = await this.rs.q(
      `SELECT b.seq, b.first, b.line, b.k, b.kind, b.order_no, b.refund_no, b.trade_no, b.amount, b.fee, b.currency, b.time, b.status,
              o.order_no AS o_no, o.kind AS o_kind, o.channel AS o_channel, o.status AS o_status, o.amount_minor AS o_amount, o.currency AS o_currency,
              o.paid_at AS o_time, o.channel_trade_no AS o_trade,
              f.refund_no AS f_no, f.order_no AS f_order, f.channel AS f_channel, f.status AS f_status, f.amount_minor AS f_amount, f.currency AS f_currency,
              f.refunded_at AS f_time, f.channel_refund_no AS f_trade
       FROM rc_odd b ${JOIN_BOOKS}
       WHERE b.seq > $1 ORDER BY b.seq LIMIT $2`,
      [afterSeq, limit],
    );
    return rows.map((r) => {
      let entry: BookEntry | undefined;
      if (r.o_no !== null) {
        entry = orderEntry({ kind: r.o_kind, order_no: r.o_no, channel: r.o_channel, status: r.o_status, amount_minor: r.o_amount, currency: r.o_currency, paid_at: r.o_time, channel_trade_no: r.o_trade });
      } else if (r.f_no !== null) {
        entry = refundEntry({ refund_no: r.f_no, order_no: r.f_order, channel: r.f_channel, status: r.f_status, amount_minor: r.f_amount, currency: r.f_currency, refunded_at: r.f_time, channel_refund_no: r.f_trade });
      }
      const row: BillRow = {
        line: r.line as number,
        kind: r.kind as BillRow['kind'],
        orderNo: nn(r.order_no),
        refundNo: nn(r.refund_no),
        channelTradeNo: nn(r.trade_no),
        amountMinor: r.amount as number,
        feeMinor: r.fee as number,
        currency: r.currency as string,
        time: r.time as string,
        status: nn(r.status),
      };
      return { seq: r.seq as number, firstSeq: r.first as number, key: r.k as string, row, entry };
    });
  }

  async sums(): Promise<BillSum[]> {
    return this.rs.q<BillSum & Row>(
      `SELECT currency, kind, COUNT(*) AS n, SUM(amount) AS amount, SUM(fee) AS fee FROM rc_bill
       WHERE status IS NULL OR lower(trim(status)) NOT IN (${FAILED_SQL})
       GROUP BY currency, kind ORDER BY currency, kind`,
    );
  }

  async addHits(keys: readonly string[]): Promise<void> {
    if (keys.length) await this.rs.q('INSERT INTO rc_hits (k) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [keys]);
  }

  async insertUnbilled(channel: string, start: string, end: string, carryFrom: string, runId: number): Promise<UnbilledCounts> {
    // $1 run, $2 channel, $3 start, $4 end, $5 carry-from.
    const elsewhere = (key: string) => `NOT EXISTS (SELECT 1 FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
        WHERE i.channel = $2 AND i.item_key = ${key} AND i.class IN ('matched', 'resolved') AND r.superseded_by IS NULL AND i.run_id <> $1)`;
    const absent = (key: string) => `NOT EXISTS (SELECT 1 FROM rc_bill b WHERE b.k = ${key}) AND NOT EXISTS (SELECT 1 FROM rc_hits h WHERE h.k = ${key}) AND ${elsewhere(key)}`;
    const cls = (time: string) => `CASE WHEN ${time} >= $5 THEN 'carriedOver' ELSE 'missingChannel' END`;
    const note = (time: string) =>
      `CASE WHEN ${time} >= $5 THEN 'settled near the end of the day: expected in the next bill' ELSE 'the books have it as settled; the channel does not list it' END`;
    const params = [runId, channel, start, end, carryFrom];
    // One statement per kind, the NOT EXISTS at the top of the WHERE clause: PostgreSQL then
    // plans them as hash anti-joins (under an OR they would run once per order).
    for (const [kind, tag, settled] of [
      ['collect', 'P|', "o.status IN ('succeeded', 'refunded')"],
      ['payout', 'T|', "o.status = 'succeeded'"],
    ] as const) {
      await this.rs.q(
        `INSERT INTO reconcile_items (run_id, channel, class, item_key, kind, order_no, channel_trade_no, local_status, local_amount_minor, local_currency, local_time, note)
         SELECT $1, $2, ${cls('o.paid_at')}, '${tag}' || o.order_no, '${kind === 'collect' ? 'payment' : 'payout'}', o.order_no, o.channel_trade_no,
                o.status, o.amount_minor, o.currency, o.paid_at, ${note('o.paid_at')}
         FROM orders o WHERE o.channel = $2 AND o.kind = '${kind}' AND o.paid_at IS NOT NULL AND o.paid_at >= $3 AND o.paid_at < $4
           AND ${settled} AND ${absent(`('${tag}' || o.order_no)`)}
         ORDER BY o.paid_at, o.order_no`,
        params,
      );
    }
    await this.rs.q(
      `INSERT INTO reconcile_items (run_id, channel, class, item_key, kind, order_no, refund_no, channel_trade_no, local_status, local_amount_minor, local_currency, local_time, note)
       SELECT $1, $2, ${cls('f.refunded_at')}, 'R|' || f.refund_no, 'refund', f.order_no, f.refund_no, f.channel_refund_no,
              f.status, f.amount_minor, f.currency, f.refunded_at, ${note('f.refunded_at')}
       FROM refunds f WHERE f.channel = $2 AND f.refunded_at IS NOT NULL AND f.refunded_at >= $3 AND f.refunded_at < $4
         AND f.status = 'succeeded' AND ${absent(`('R|' || f.refund_no)`)}
       ORDER BY f.refunded_at, f.refund_no`,
      params,
    );
    const counts = await this.rs.q<{ class: string; n: number }>(
      `SELECT class, COUNT(*) AS n FROM reconcile_items WHERE run_id = $1 AND class IN ('missingChannel', 'carriedOver') AND carried_from IS NULL GROUP BY class`,
      [runId],
    );
    const out = { missingChannel: 0, carriedOver: 0 };
    for (const c of counts) out[c.class as keyof typeof out] = c.n;
    return out;
  }
}

const ITEM_COLUMNS = [
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
];
const ITEM_BATCH = 1000;

/** Reconciliation storage on one PostgreSQL connection of its own. */
export class PgReconcileStore implements ReconcileStore {
  private broken: Error | undefined;
  private released = false;

  private constructor(
    private readonly db: PgDb,
    readonly client: pg.PoolClient,
  ) {}

  static async open(db: PgDb): Promise<PgReconcileStore> {
    return new PgReconcileStore(db, await db.connect());
  }

  /** Runs `fn`, mapping driver errors (and remembering a lost connection so it is not reused). */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = this.db.error(err);
      if ((mapped as { code?: string }).code === 'SYSTEM_ERROR') this.broken = err as Error;
      throw mapped;
    }
  }

  /** One statement on this store's connection. */
  async q<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.guard(async () => (await this.client.query<R>(sql, params)).rows);
  }

  async openStage(): Promise<BillStage> {
    const stage = new PgBillStage(this);
    await stage.create();
    return stage;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.q('BEGIN');
    try {
      const out = await fn();
      await this.q('COMMIT');
      return out;
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  async findByTradeNo(channel: string, kind: EntryKind, tradeNo: string): Promise<BookEntry | undefined> {
    if (kind === 'refund') {
      const [r] = await this.q('SELECT * FROM refunds WHERE channel = $1 AND channel_refund_no = $2 LIMIT 1', [channel, tradeNo]);
      return r ? refundEntry(r) : undefined;
    }
    const [r] = await this.q('SELECT * FROM orders WHERE channel = $1 AND channel_trade_no = $2 AND kind = $3 LIMIT 1', [channel, tradeNo, kind === 'payout' ? 'payout' : 'collect']);
    return r ? orderEntry(r) : undefined;
  }

  async entryByKey(channel: string, key: string): Promise<BookEntry | undefined> {
    const [tag, a, b] = key.split('|');
    if (tag === 'P' || tag === 'T') {
      const [r] = await this.q('SELECT * FROM orders WHERE order_no = $1', [a]);
      if (!r || r.channel !== channel || r.kind !== (tag === 'P' ? 'collect' : 'payout')) return undefined;
      return orderEntry(r);
    }
    if (tag === 'R') {
      const [r] = await this.q('SELECT * FROM refunds WHERE refund_no = $1', [a]);
      return r && r.channel === channel ? refundEntry(r) : undefined;
    }
    if (tag === 'X' && b) return this.findByTradeNo(channel, a as EntryKind, b);
    return undefined;
  }

  async booksTotals(channel: string, start: string, end: string): Promise<Map<string, SideTotals>> {
    const out = new Map<string, SideTotals>();
    const side = (currency: string) => {
      let t = out.get(currency);
      if (!t) out.set(currency, (t = { count: 0, grossMinor: 0, refundsMinor: 0, payoutsMinor: 0, feesMinor: 0, adjustmentsMinor: 0, netMinor: 0 }));
      return t;
    };
    const orders = await this.q<{ currency: string; kind: string; n: number; total: number }>(
      `SELECT currency, kind, COUNT(*) AS n, SUM(amount_minor) AS total FROM orders
       WHERE channel = $1 AND paid_at IS NOT NULL AND paid_at >= $2 AND paid_at < $3
         AND ((kind = 'collect' AND status IN ('succeeded', 'refunded')) OR (kind = 'payout' AND status = 'succeeded'))
       GROUP BY currency, kind`,
      [channel, start, end],
    );
    for (const r of orders) {
      const t = side(r.currency);
      t.count += r.n;
      if (r.kind === 'collect') t.grossMinor += r.total;
      else t.payoutsMinor += r.total;
    }
    const refunds = await this.q<{ currency: string; n: number; total: number }>(
      `SELECT currency, COUNT(*) AS n, SUM(amount_minor) AS total FROM refunds
       WHERE channel = $1 AND refunded_at IS NOT NULL AND refunded_at >= $2 AND refunded_at < $3 AND status = 'succeeded'
       GROUP BY currency`,
      [channel, start, end],
    );
    for (const r of refunds) {
      const t = side(r.currency);
      t.count += r.n;
      t.refundsMinor += r.total;
    }
    for (const t of out.values()) t.netMinor = t.grossMinor - t.refundsMinor - t.payoutsMinor;
    return out;
  }

  async findRunByFile(channel: string, date: string, sha256: string): Promise<RunRecord | undefined> {
    const [r] = await this.q('SELECT * FROM reconcile_runs WHERE channel = $1 AND date = $2 AND bill_sha256 = $3', [channel, date, sha256]);
    return r ? rowToRun(r) : undefined;
  }

  async currentRuns(channel: string, date: string): Promise<RunRecord[]> {
    return (await this.q('SELECT * FROM reconcile_runs WHERE channel = $1 AND date = $2 AND superseded_by IS NULL ORDER BY id', [channel, date])).map(rowToRun);
  }

  async deleteRun(id: number): Promise<void> {
    await this.q('DELETE FROM reconcile_runs WHERE id = $1', [id]);
  }

  async supersede(oldId: number, newId: number): Promise<void> {
    await this.q('UPDATE reconcile_runs SET superseded_by = $1 WHERE id = $2', [newId, oldId]);
    await this.q('UPDATE reconcile_items SET closed_by_run = NULL, closed_at = NULL WHERE closed_by_run = $1', [oldId]);
  }

  async insertRun(run: NewRun): Promise<number> {
    const [r] = await this.q<{ id: number }>(
      `INSERT INTO reconcile_runs (channel, date, time_zone, source, bill_path, bill_format, bill_sha256, bill_bytes, mapping_sha256, bill_rows,
         matched, missing_local, missing_channel, amount_mismatch, status_mismatch, currency_mismatch, duplicate, carried_over, resolved, totals, started_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', $11, $11) RETURNING id`,
      [run.channel, run.date, run.timeZone, run.source, run.billPath, run.billFormat, run.billSha256, run.billBytes, run.mappingSha256 ?? null, run.billRows, run.startedAt],
    );
    return r.id;
  }

  async finishRun(id: number, counts: RunCounts, totals: CurrencyTotals[], finishedAt: string): Promise<void> {
    await this.q(
      `UPDATE reconcile_runs SET matched = $1, missing_local = $2, missing_channel = $3, amount_mismatch = $4, status_mismatch = $5, currency_mismatch = $6,
         duplicate = $7, carried_over = $8, resolved = $9, totals = $10, finished_at = $11 WHERE id = $12`,
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
    const n = ITEM_COLUMNS.length;
    for (let i = 0; i < items.length; i += ITEM_BATCH) {
      const batch = items.slice(i, i + ITEM_BATCH);
      const params: unknown[] = [];
      const values = batch.map((item, j) => {
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
        return `(${ITEM_COLUMNS.map((_, k) => `$${j * n + k + 1}`).join(', ')})`;
      });
      await this.q(`INSERT INTO reconcile_items (${ITEM_COLUMNS.join(', ')}) VALUES ${values.join(', ')}`, params);
    }
  }

  async closeItem(id: number, runId: number, at: string): Promise<void> {
    await this.q('UPDATE reconcile_items SET closed_by_run = $1, closed_at = $2 WHERE id = $3', [runId, at, id]);
  }

  async openBookItem(channel: string, key: string, date: string): Promise<OpenItem | undefined> {
    const [r] = await this.q(
      `SELECT i.*, r.date AS run_date FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
       WHERE i.channel = $1 AND i.item_key = $2 AND i.closed_by_run IS NULL AND i.class IN ('missingChannel', 'carriedOver')
         AND r.superseded_by IS NULL AND r.date < $3
       ORDER BY r.date LIMIT 1`,
      [channel, key, date],
    );
    return r ? { ...rowToItem(r), runDate: r.run_date as string } : undefined;
  }

  async openItemsBefore(channel: string, date: string): Promise<OpenItem[]> {
    const rows = await this.q(
      `SELECT i.*, r.date AS run_date FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
       WHERE i.channel = $1 AND i.closed_by_run IS NULL AND i.class IN (${CARRYABLE_SQL})
         AND r.superseded_by IS NULL AND r.date < $2
       ORDER BY r.date, i.id`,
      [channel, date],
    );
    return rows.map((r) => ({ ...rowToItem(r), runDate: r.run_date as string }));
  }

  async countOpen(channel: string, date: string): Promise<number> {
    const [r] = await this.q<{ n: number }>(
      `SELECT COUNT(*) AS n FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
       WHERE i.channel = $1 AND i.closed_by_run IS NULL AND i.class IN (${CARRYABLE_SQL})
         AND r.superseded_by IS NULL AND r.date <= $2`,
      [channel, date],
    );
    return r.n;
  }

  async getRun(id: number): Promise<RunRecord | undefined> {
    const [r] = await this.q('SELECT * FROM reconcile_runs WHERE id = $1', [id]);
    return r ? rowToRun(r) : undefined;
  }

  async listRuns(filter: { channel?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const rows = filter.channel
      ? await this.q('SELECT * FROM reconcile_runs WHERE channel = $1 ORDER BY date DESC, id DESC LIMIT $2', [filter.channel, filter.limit ?? 20])
      : await this.q('SELECT * FROM reconcile_runs ORDER BY date DESC, id DESC LIMIT $1', [filter.limit ?? 20]);
    return rows.map(rowToRun);
  }

  async *items(runId: number, classes: readonly ItemClass[], limit = Number.MAX_SAFE_INTEGER): AsyncGenerator<ItemRecord> {
    let after = 0;
    let left = limit;
    while (left > 0) {
      const size = Math.min(left, 2000);
      const page = await this.q('SELECT * FROM reconcile_items WHERE run_id = $1 AND class = ANY($2::text[]) AND id > $3 ORDER BY id LIMIT $4', [runId, classes, after, size]);
      for (const r of page) yield rowToItem(r);
      if (page.length < size) return;
      left -= page.length;
      after = page[page.length - 1].id as number;
    }
  }

  async countItems(runId: number, classes: readonly ItemClass[]): Promise<number> {
    const [r] = await this.q<{ n: number }>('SELECT COUNT(*) AS n FROM reconcile_items WHERE run_id = $1 AND class = ANY($2::text[])', [runId, classes]);
    return r.n;
  }

  async event(type: string, channel: string, data: Record<string, unknown>, at: string): Promise<void> {
    await this.guard(() => insertEvent(this.client, { type, channel, data, at }, at));
  }

  /** Returns the connection to the pool (destroyed when it broke). */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.client.release(this.broken);
  }
}
