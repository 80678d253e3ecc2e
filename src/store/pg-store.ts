/**
 * The PostgreSQL order store: the same tables and guarantees as the SQLite store, for a team
 * sharing one order book. Every write is one transaction; the refund guard reads the order under
 * a row lock (SELECT ... FOR UPDATE), so concurrent refunds from any number of processes and
 * hosts queue on the order and can never together exceed it; callbacks and orders are inserted
 * with ON CONFLICT DO NOTHING on their keys, so a concurrent duplicate is recorded once.
 */
import { PayError, invalid } from '../core/errors.js';
import { assertRefundable, type Order, type Refund } from '../core/order.js';
import { callbackEvent, orderAfterRefund, orderCreatedEvent, planOrderUpdate, planRefundUpdate, refundCreatedEvent } from './changes.js';
import type { OrderImport } from './order-import.js';
import type { PgSettings } from './open.js';
import type { StoreAdmin } from './admin.js';
import { insertEvent, PgDb, type PgDbOptions, type Queryable } from './pg-db.js';
import type { ReconcileStore } from './reconcile-store.js';
import type { StatsStore } from './stats-store.js';
import { NEW_ORDER_COLUMNS, newOrderValues, ORDER_COLUMNS, rowToCallback, rowToEvent, rowToOrder, rowToRefund, type Row } from './rows.js';
import type {
  CallbackRecord,
  EventCause,
  NewEvent,
  NewOrder,
  NewRefund,
  OrderFilter,
  OrderPatch,
  RefundPatch,
  Store,
  StoredEvent,
  UpdateResult,
} from './store.js';

/** The PostgreSQL {@link Store}. */
export class PgStore implements Store {
  readonly location: string;

  private constructor(readonly db: PgDb) {
    this.location = db.location;
  }

  /** Connects and migrates (see {@link PgDb.open}). */
  static async open(settings: PgSettings, options: PgDbOptions): Promise<PgStore> {
    return new PgStore(await PgDb.open(settings, options));
  }

  private async one(q: Queryable, sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await q.query(sql, params)).rows[0] as Row | undefined;
  }

  async createOrder(input: NewOrder, cause: EventCause = { source: 'cli' }): Promise<{ order: Order; created: boolean }> {
    return this.db.tx(async (c) => {
      const now = this.db.now();
      const inserted = await this.one(
        c,
        `INSERT INTO orders (${NEW_ORDER_COLUMNS.join(', ')}) VALUES (${NEW_ORDER_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
         ON CONFLICT (order_no) DO NOTHING RETURNING ${ORDER_COLUMNS}`,
        newOrderValues(input, now),
      );
      if (!inserted) return { order: (await this.orderOn(c, input.orderNo))!, created: false };
      await insertEvent(c, orderCreatedEvent(input, cause), now);
      return { order: rowToOrder(inserted), created: true };
    });
  }

  private async orderOn(q: Queryable, orderNo: string, lock = false): Promise<Order | undefined> {
    const r = await this.one(q, `SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = $1${lock ? ' FOR UPDATE' : ''}`, [orderNo]);
    return r ? rowToOrder(r) : undefined;
  }

  async getOrder(orderNo: string): Promise<Order | undefined> {
    const [r] = await this.db.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = $1`, [orderNo]);
    return r ? rowToOrder(r) : undefined;
  }

  async findOrderByChannelTradeNo(channel: string, channelTradeNo: string): Promise<Order | undefined> {
    const [r] = await this.db.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE channel = $1 AND channel_trade_no = $2 LIMIT 1`, [channel, channelTradeNo]);
    return r ? rowToOrder(r) : undefined;
  }

  private where(filter: OrderFilter): { sql: string; args: unknown[] } {
    const parts: string[] = [];
    const args: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      args.push(v);
      parts.push(cond.replace('?', `$${args.length}`));
    };
    if (filter.channel) add('channel = ?', filter.channel);
    if (filter.status) add('status = ?', filter.status);
    if (filter.kind) add('kind = ?', filter.kind);
    if (filter.since) add('created_at >= ?', filter.since);
    if (filter.until) add('created_at < ?', filter.until);
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
  }

  async listOrders(filter: OrderFilter = {}): Promise<Order[]> {
    const { sql, args } = this.where(filter);
    const n = args.length;
    const rows = await this.db.query(
      `SELECT ${ORDER_COLUMNS} FROM orders ${sql} ORDER BY created_at DESC, order_no DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...args, filter.limit ?? 50, filter.offset ?? 0],
    );
    return rows.map(rowToOrder);
  }

  async countOrders(filter: OrderFilter = {}): Promise<number> {
    const { sql, args } = this.where(filter);
    return ((await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM orders ${sql}`, args))[0]).n;
  }

  async rerouteOrder(orderNo: string, from: string, to: string, cause: EventCause): Promise<Order> {
    return this.db.tx(async (c) => {
      const order = await this.orderOn(c, orderNo, true);
      if (!order) throw new PayError('ORDER_NOT_FOUND', `order ${orderNo} is not in the order book`);
      if (order.status !== 'created' || order.channel !== from) {
        throw invalid(`order ${orderNo} cannot move from ${from} to ${to}: it is ${order.status} on ${order.channel}`);
      }
      const now = this.db.now();
      await c.query('UPDATE orders SET channel = $1, updated_at = $2 WHERE order_no = $3', [to, now, orderNo]);
      await insertEvent(c, { type: 'order.rerouted', channel: to, orderNo, data: { from, to, source: cause.source, ...(cause.detail ?? {}) } }, now);
      return { ...order, channel: to, updatedAt: now };
    });
  }

  async updateOrder(orderNo: string, patch: OrderPatch, cause: EventCause): Promise<UpdateResult<Order>> {
    return this.db.tx(async (c) => {
      const order = await this.orderOn(c, orderNo, true);
      if (!order) throw new PayError('ORDER_NOT_FOUND', `order ${orderNo} is not in the order book`);
      const plan = planOrderUpdate(order, patch, cause, this.db.now());
      const next = plan.next;
      if (!plan.changed) return { value: order, changed: false, ignored: plan.ignored };
      await c.query(
        'UPDATE orders SET status = $1, amount_minor = $2, channel_trade_no = $3, payload = $4, failure_code = $5, failure_message = $6, paid_at = $7, updated_at = $8 WHERE order_no = $9',
        [next.status, next.amountMinor, next.channelTradeNo ?? null, next.payload ? JSON.stringify(next.payload) : null, next.failureCode ?? null, next.failureMessage ?? null, next.paidAt ?? null, next.updatedAt, orderNo],
      );
      if (plan.event) await insertEvent(c, plan.event, next.updatedAt);
      if (plan.captureEvent) await insertEvent(c, plan.captureEvent, next.updatedAt);
      return { value: next, changed: true, ignored: plan.ignored };
    });
  }

  private async refundOn(q: Queryable, refundNo: string, lock = false): Promise<Refund | undefined> {
    const r = await this.one(q, `SELECT * FROM refunds WHERE refund_no = $1${lock ? ' FOR UPDATE' : ''}`, [refundNo]);
    return r ? rowToRefund(r) : undefined;
  }

  async createRefund(input: NewRefund, cause: EventCause = { source: 'cli' }): Promise<{ refund: Refund; created: boolean }> {
    return this.db.tx(async (c) => {
      // The order's row lock serialises every refund of the order across processes: the guard
      // below sees the refunds committed before it, in flight ones included.
      const order = await this.orderOn(c, input.orderNo, true);
      const existing = await this.refundOn(c, input.refundNo);
      if (existing) return { refund: existing, created: false };
      if (!order) throw new PayError('ORDER_NOT_FOUND', `order ${input.orderNo} is not in the order book`);
      const refunds = (await c.query('SELECT * FROM refunds WHERE order_no = $1', [input.orderNo])).rows.map(rowToRefund);
      assertRefundable(order, refunds, input.amountMinor);
      const now = this.db.now();
      const row = await this.one(
        c,
        `INSERT INTO refunds (refund_no, order_no, channel, status, amount_minor, currency, reason, created_at, updated_at)
         VALUES ($1, $2, $3, 'created', $4, $5, $6, $7, $8) RETURNING *`,
        [input.refundNo, input.orderNo, order.channel, input.amountMinor, order.currency, input.reason ?? null, input.createdAt ?? now, now],
      );
      await insertEvent(c, refundCreatedEvent(input, order, cause), now);
      return { refund: rowToRefund(row!), created: true };
    });
  }

  async getRefund(refundNo: string): Promise<Refund | undefined> {
    return this.refundOn(this.db.pool, refundNo).catch((err) => {
      throw this.db.error(err);
    });
  }

  async listRefunds(orderNo: string): Promise<Refund[]> {
    const rows = await this.db.query('SELECT * FROM refunds WHERE order_no = $1 ORDER BY created_at, refund_no', [orderNo]);
    return rows.map(rowToRefund);
  }

  async updateRefund(refundNo: string, patch: RefundPatch, cause: EventCause): Promise<UpdateResult<Refund>> {
    return this.db.tx(async (c) => {
      const found = await this.refundOn(c, refundNo);
      if (!found) throw new PayError('ORDER_NOT_FOUND', `refund ${refundNo} is not in the order book`);
      // Lock order, then refund: the order in which createRefund takes them.
      const order = (await this.orderOn(c, found.orderNo, true))!;
      const refund = (await this.refundOn(c, refundNo, true))!;
      const plan = planRefundUpdate(refund, patch, cause, this.db.now());
      const next = plan.next;
      if (!plan.changed) return { value: refund, changed: false, ignored: plan.ignored };
      await c.query(
        'UPDATE refunds SET status = $1, channel_refund_no = $2, failure_code = $3, failure_message = $4, refunded_at = $5, updated_at = $6 WHERE refund_no = $7',
        [next.status, next.channelRefundNo ?? null, next.failureCode ?? null, next.failureMessage ?? null, next.refundedAt ?? null, next.updatedAt, refundNo],
      );
      if (plan.event) await insertEvent(c, plan.event, next.updatedAt);
      if (plan.event && next.status === 'succeeded') {
        const after = orderAfterRefund(order, refund, cause);
        await c.query('UPDATE orders SET refunded_minor = $1, status = $2, updated_at = $3 WHERE order_no = $4', [after.refundedMinor, after.status, next.updatedAt, order.orderNo]);
        if (after.event) await insertEvent(c, after.event, next.updatedAt);
      }
      return { value: next, changed: true, ignored: plan.ignored };
    });
  }

  async appendEvent(event: NewEvent): Promise<void> {
    try {
      await insertEvent(this.db.pool, event, this.db.now());
    } catch (err) {
      throw this.db.error(err);
    }
  }

  async listEvents(filter: { orderNo?: string; type?: string; limit?: number } = {}): Promise<StoredEvent[]> {
    const parts: string[] = [];
    const args: unknown[] = [];
    if (filter.orderNo) {
      args.push(filter.orderNo);
      parts.push(`order_no = $${args.length}`);
    }
    if (filter.type) {
      args.push(filter.type);
      parts.push(`type = $${args.length}`);
    }
    args.push(filter.limit ?? 1000);
    const rows = await this.db.query(`SELECT * FROM events ${parts.length ? `WHERE ${parts.join(' AND ')}` : ''} ORDER BY id LIMIT $${args.length}`, args);
    return rows.map(rowToEvent);
  }

  async recordCallback(record: CallbackRecord): Promise<{ recorded: boolean; previous?: CallbackRecord }> {
    return this.db.tx(async (c) => {
      const now = this.db.now();
      // A concurrent duplicate waits on the key's unique index, then inserts nothing.
      const inserted = await c.query(
        `INSERT INTO callbacks (channel, dedup_key, event_type, order_no, refund_no, body_sha256, outcome, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (channel, dedup_key) DO NOTHING`,
        [record.channel, record.dedupKey, record.eventType, record.orderNo ?? null, record.refundNo ?? null, record.bodySha256, record.outcome, record.receivedAt ?? now],
      );
      if (inserted.rowCount === 0) {
        const prev = await this.one(c, 'SELECT * FROM callbacks WHERE channel = $1 AND dedup_key = $2', [record.channel, record.dedupKey]);
        return { recorded: false, previous: rowToCallback(prev!) };
      }
      await insertEvent(c, callbackEvent(record), now);
      return { recorded: true };
    });
  }

  async getCallback(channel: string, dedupKey: string): Promise<CallbackRecord | undefined> {
    const [r] = await this.db.query('SELECT * FROM callbacks WHERE channel = $1 AND dedup_key = $2', [channel, dedupKey]);
    return r ? rowToCallback(r) : undefined;
  }

  async reconciliation(): Promise<ReconcileStore> {
    const { PgReconcileStore } = await import('./pg-reconcile-store.js');
    return PgReconcileStore.open(this.db);
  }

  async orderImport(): Promise<OrderImport> {
    const { PgOrderImport } = await import('./pg-order-import.js');
    return PgOrderImport.open(this.db);
  }

  async stats(): Promise<StatsStore> {
    const { PgStatsStore } = await import('./pg-stats-store.js');
    return new PgStatsStore(this.db);
  }

  async admin(): Promise<StoreAdmin> {
    const session = await this.db.session();
    return {
      schemaVersion: () => session.guard(() => this.db.schemaVersion(session.client)),
      all: async (sql, params) => (await session.query(sql, params, true)).rows as Row[],
      run: async (sql, params) => (await session.query(sql, params, true)).rowCount ?? 0,
      insertId: async (sql, params) => (await session.query(`${sql} RETURNING id`, params, true)).rows[0].id as number,
      transaction: (fn) => session.transaction(fn),
      close: async () => session.release(),
    };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
