/**
 * The PostgreSQL {@link ReconcileStore}. A bill is streamed with COPY into temporary tables on a
 * connection of its own (temporary tables live on one connection), analysed, and paired with
 * the books by SQL (hash joins) on the server: the client holds one batch of rows and one page of
 * odd rows at a time, whatever the size of the bill or the books. The run is saved in one
 * transaction on that same connection; a lost connection rolls it back whole.
 */
import type { Writable } from 'node:stream';
import type pg from 'pg';
import type { BillRow } from '../channel/contract.js';
import type { BookEntry } from '../reconcile/classify.js';
import type { PgDb, PgSession } from './pg-db.js';
import { SqlReconcileStore } from './sql-reconcile-store.js';
import { STAGE_WIDTH, type StageBatch } from '../reconcile/stage-batch.js';
import {
  FAILED_SQL,
  type BillStage,
  type ReconcileStore,
  type StagedPair,
  type UnbilledCounts,
} from './reconcile-store.js';
import { nn, orderEntry, refundEntry, type Row } from './rows.js';

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

  async add(batch: StageBatch): Promise<void> {
    const { values, rows } = batch;
    if (rows === 0) return;
    this.copy ??= await this.rs.guard(() => CopyIn.start(this.rs.client, `COPY rc_bill (${STAGED}) FROM STDIN`));
    let text = '';
    for (let i = 0, at = 0; i < rows; i++, at += STAGE_WIDTH) {
      // line, key, kind, order no, refund no, trade no, amount, fee, currency, time, status
      text += `${++this.seq}\t${values[at]}\t${copyText(values[at + 1] as string)}\t${values[at + 2]}\t${copyText(values[at + 3] as string | null)}\t${copyText(values[at + 4] as string | null)}\t${copyText(values[at + 5] as string | null)}\t${values[at + 6]}\t${values[at + 7]}\t${values[at + 8]}\t${copyText(values[at + 9] as string)}\t${copyText(values[at + 10] as string | null)}\n`;
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

/** Reconciliation storage on one PostgreSQL connection of its own. */
export class PgReconcileStore extends SqlReconcileStore {
  private constructor(private readonly session: PgSession) {
    super();
  }

  static async open(db: PgDb): Promise<PgReconcileStore> {
    return new PgReconcileStore(await db.session());
  }

  /** The connection, for the stage's COPY. */
  get client(): pg.PoolClient {
    return this.session.client;
  }

  /** Runs `fn` with driver errors mapped (see PgSession.guard). */
  guard<T>(fn: () => Promise<T>): Promise<T> {
    return this.session.guard(fn);
  }

  /** One statement on this store's connection. */
  q<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.session.q<R>(sql, params);
  }

  async openStage(): Promise<BillStage> {
    const stage = new PgBillStage(this);
    await stage.create();
    return stage;
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.session.transaction(fn);
  }

  protected async all<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.session.query<R>(sql, params, true)).rows;
  }

  protected async run(sql: string, params: unknown[] = []): Promise<void> {
    await this.session.query(sql, params, true);
  }

  protected async insertId(sql: string, params: unknown[]): Promise<number> {
    return (await this.session.query<{ id: number }>(`${sql} RETURNING id`, params, true)).rows[0].id;
  }

  /** Returns the connection to the pool (destroyed when it broke). */
  async close(): Promise<void> {
    this.session.release();
  }
}
