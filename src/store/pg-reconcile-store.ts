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
import type { StageBatch } from '../reconcile/stage-batch.js';
import {
  type BillStage,
  type ReconcileStore,
  type SideTotals,
  type StagedPair,
  type UnbilledCounts,
} from './reconcile-store.js';
import { nn, orderEntry, refundEntry, type Row } from './rows.js';
import { BILL_COPY_COLUMNS, BillCopyRenderer } from './copy-text.js';

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

/** The book entry a staged row's own key names: same number, same kind. */
const JOIN_BOOKS = `
  LEFT JOIN orders o ON b.kind IN ('payment', 'payout') AND o.order_no = b.order_no
    AND o.kind = CASE b.kind WHEN 'payment' THEN 'collect' ELSE 'payout' END
  LEFT JOIN refunds f ON b.kind = 'refund' AND f.refund_no = b.refund_no`;

/**
 * A bill staged in temporary tables on the store's connection.
 *
 * Pairing is one hash full join of the stage with the day's settled book entries, keyed as the
 * bill is ($1 channel, $2 start, $3 end): its bill rows that are not plain matches are set aside
 * for the engine, and its book entries no row names are the unbilled candidates, in one pass over
 * each side. "First row of its key" is answered by a filter of the keys staged so far, kept while
 * the rows are sent: only keys it may have seen before are grouped on the server.
 */
class PgBillStage implements BillStage {
  private copy: CopyIn | undefined;
  private renderer: BillCopyRenderer | undefined;
  /** Staged rows of the kinds paired with the books. */
  private pairable = 0;
  /** Rows whose key the filter may have seen before (repeats, and false alarms). */
  private maybe = 0;
  /** Keys listed more than once (rows of rc_dup). */
  private repeats = 0;
  /** The scope markOdd paired the stage for (insertUnbilled reads its candidates). */
  private paired: { channel: string; start: string; end: string } | undefined;

  constructor(private readonly rs: PgReconcileStore) {}

  async create(): Promise<void> {
    await this.rs.q(`
      DROP TABLE IF EXISTS pg_temp.rc_bill, pg_temp.rc_hits, pg_temp.rc_dup, pg_temp.rc_odd, pg_temp.rc_pair;
      CREATE TEMP TABLE rc_bill (
        seq BIGINT NOT NULL, line BIGINT NOT NULL, k TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL, order_no TEXT COLLATE "C",
        refund_no TEXT COLLATE "C", trade_no TEXT COLLATE "C", amount BIGINT NOT NULL, fee BIGINT NOT NULL, currency TEXT COLLATE "C" NOT NULL,
        time TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C", failed BOOLEAN NOT NULL, maybe BOOLEAN NOT NULL
      );
      CREATE TEMP TABLE rc_hits (k TEXT COLLATE "C" PRIMARY KEY);`);
  }

  async add(batch: StageBatch): Promise<void> {
    if (batch.rows === 0) return;
    const copy = (this.renderer ??= new BillCopyRenderer()).render(batch);
    this.copy ??= await this.rs.guard(() => CopyIn.start(this.rs.client, `COPY rc_bill (${BILL_COPY_COLUMNS}) FROM STDIN`));
    this.pairable += copy.pairable;
    this.maybe += copy.maybe;
    await this.rs.guard(() => this.copy!.write(copy.text));
  }

  async seal(): Promise<void> {
    if (this.copy) await this.rs.guard(() => this.copy!.end());
    this.copy = undefined;
    // Keys listed more than once: only keys the filter flagged can be; their first rows. A short
    // list of them goes with the statement (one pass over the stage), a long one is found there.
    const flagged = this.renderer?.flagged();
    this.renderer?.end();
    await this.rs.q('CREATE TEMP TABLE rc_dup (k TEXT COLLATE "C" PRIMARY KEY, first BIGINT NOT NULL)');
    if (this.maybe > 0) {
      this.repeats = flagged
        ? await this.rs.changes('INSERT INTO rc_dup SELECT k, MIN(seq) FROM rc_bill WHERE k = ANY($1::text[]) GROUP BY k HAVING COUNT(*) > 1', [[...new Set(flagged)]])
        : await this.rs.changes('INSERT INTO rc_dup SELECT k, MIN(seq) FROM rc_bill WHERE k IN (SELECT k FROM rc_bill WHERE maybe) GROUP BY k HAVING COUNT(*) > 1');
    }
    // Statistics steer the pairing to a hash join (without them the planner sorts both sides);
    // a small sample is enough for that and reads a tenth of the pages.
    await this.rs.q('SET default_statistics_target = 10; ANALYZE rc_bill; ANALYZE rc_dup; RESET default_statistics_target');
  }

  async drop(): Promise<void> {
    await this.rs.q('DROP TABLE IF EXISTS pg_temp.rc_bill, pg_temp.rc_hits, pg_temp.rc_dup, pg_temp.rc_odd, pg_temp.rc_pair');
  }

  async markOdd(channel: string, start: string, end: string): Promise<number> {
    // The day's settled entries, keyed as bill rows are. A row is a plain match when it is the
    // first of its key, not marked failed, and names one of them with the same currency and amount.
    const day = `
      SELECT CASE o.kind WHEN 'collect' THEN 'P|' ELSE 'T|' END || o.order_no AS bk, o.kind AS x_kind, o.order_no AS x_no, o.channel_trade_no AS x_trade,
             o.status AS x_status, o.amount_minor AS x_amount, o.currency AS x_currency, o.paid_at AS x_time, NULL::text AS x_order
      FROM orders o WHERE o.channel = $1 AND o.paid_at IS NOT NULL AND o.paid_at >= $2 AND o.paid_at < $3
        AND ((o.kind = 'collect' AND o.status IN ('succeeded', 'refunded')) OR (o.kind = 'payout' AND o.status = 'succeeded'))
      UNION ALL
      SELECT 'R|' || f.refund_no, 'refund', f.refund_no, f.channel_refund_no, f.status, f.amount_minor, f.currency, f.refunded_at, f.order_no
      FROM refunds f WHERE f.channel = $1 AND f.refunded_at IS NOT NULL AND f.refunded_at >= $2 AND f.refunded_at < $3 AND f.status = 'succeeded'`;
    // Without repeats (as a rule) every row is the first of its key: no lookup per row.
    const first = this.repeats > 0 ? 'COALESCE(d.first, b.seq)' : 'b.seq';
    const plain = `(${first} = b.seq AND NOT b.failed AND x.x_currency = b.currency AND x.x_amount = abs(b.amount))`;
    await this.rs.q('DROP TABLE IF EXISTS pg_temp.rc_pair, pg_temp.rc_odd');
    this.rs.prefetchBooksTotals(channel, start, end);
    // Bill rows set aside (seq set) and book entries no row names (seq null), in one pass.
    await this.rs.q(
      `CREATE TEMP TABLE rc_pair AS
       SELECT b.seq, ${first} AS first, b.line, b.k, b.kind, b.order_no, b.refund_no, b.trade_no, b.amount, b.fee, b.currency, b.time, b.status, x.*
       FROM rc_bill b ${this.repeats > 0 ? 'LEFT JOIN rc_dup d ON d.k = b.k' : ''} FULL JOIN (${day}) x ON x.bk = b.k
       WHERE CASE WHEN b.seq IS NULL THEN true
                  WHEN b.kind NOT IN ('payment', 'refund', 'payout') THEN false
                  ELSE NOT COALESCE(${plain}, false) END`,
      [channel, start, end],
    );
    const odd = await this.rs.changes(
      `CREATE TEMP TABLE rc_odd AS SELECT seq, first, line, k, kind, order_no, refund_no, trade_no, amount, fee, currency, time, status
       FROM rc_pair WHERE seq IS NOT NULL`,
    );
    await this.rs.q('ALTER TABLE rc_odd ADD PRIMARY KEY (seq)');
    this.paired = { channel, start, end };
    return this.pairable - odd;
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
    const p = this.paired;
    if (!p || p.channel !== channel || p.start !== start || p.end !== end) await this.markOdd(channel, start, end);
    // $1 run, $2 channel, $3 carry-from. The candidates are the day's entries no row named.
    const time = 'u.x_time';
    const key = 'u.bk';
    await this.rs.q(
      `INSERT INTO reconcile_items (run_id, channel, class, item_key, kind, order_no, refund_no, channel_trade_no, local_status, local_amount_minor, local_currency, local_time, note)
       SELECT $1, $2, CASE WHEN ${time} >= $3 THEN 'carriedOver' ELSE 'missingChannel' END, ${key},
              CASE u.x_kind WHEN 'collect' THEN 'payment' ELSE u.x_kind END,
              CASE u.x_kind WHEN 'refund' THEN u.x_order ELSE u.x_no END, CASE u.x_kind WHEN 'refund' THEN u.x_no END, u.x_trade,
              u.x_status, u.x_amount, u.x_currency, ${time},
              CASE WHEN ${time} >= $3 THEN 'settled near the end of the day: expected in the next bill' ELSE 'the books have it as settled; the channel does not list it' END
       FROM rc_pair u
       WHERE u.seq IS NULL AND NOT EXISTS (SELECT 1 FROM rc_hits h WHERE h.k = ${key})
         AND NOT EXISTS (SELECT 1 FROM reconcile_items i JOIN reconcile_runs r ON r.id = i.run_id
           WHERE i.channel = $2 AND i.item_key = ${key} AND i.class IN ('matched', 'resolved') AND r.superseded_by IS NULL AND i.run_id <> $1)
       ORDER BY CASE u.x_kind WHEN 'collect' THEN 0 WHEN 'payout' THEN 1 ELSE 2 END, ${time}, u.x_no`,
      [runId, channel, carryFrom],
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
  /** The books' totals of a day, being read on a connection of their own (see prefetchBooksTotals). */
  private prefetched: { key: string; totals: Promise<Map<string, SideTotals>> } | undefined;

  private constructor(
    private readonly db: PgDb,
    private readonly session: PgSession,
  ) {
    super();
  }

  static async open(db: PgDb): Promise<PgReconcileStore> {
    return new PgReconcileStore(db, await db.session());
  }

  /**
   * Starts reading the books' totals of a day on a second connection, so that the server sums
   * them on its other core while this connection pairs the bill; {@link booksTotals} of the same
   * day then takes the result. Each statement sees the books as committed when it starts (READ
   * COMMITTED), as it would one after the other.
   */
  prefetchBooksTotals(channel: string, start: string, end: string): void {
    const totals = (async () => {
      const other = await this.db.session();
      try {
        return await this.booksTotalsWith(async <R extends Row = Row>(sql: string, params: unknown[]) => (await other.query<R>(sql, params, true)).rows, channel, start, end);
      } finally {
        other.release();
      }
    })();
    totals.catch(() => {
      /* reported by booksTotals, which awaits it */
    });
    this.prefetched = { key: `${channel}|${start}|${end}`, totals };
  }

  override async booksTotals(channel: string, start: string, end: string): Promise<Map<string, SideTotals>> {
    const p = this.prefetched;
    this.prefetched = undefined;
    if (p && p.key === `${channel}|${start}|${end}`) return p.totals;
    return super.booksTotals(channel, start, end);
  }

  /** The connection, for the stage's COPY. */
  get client(): pg.PoolClient {
    return this.session.client;
  }

  /** Runs `fn` with driver errors mapped (see PgSession.guard). */
  guard<T>(fn: () => Promise<T>): Promise<T> {
    return this.session.guard(fn);
  }

  /** Runs one statement; returns the rows it wrote (or selected into a table). */
  async changes(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.session.query(sql, params)).rowCount ?? 0;
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
