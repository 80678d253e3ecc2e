/**
 * The SQLite order store (better-sqlite3): WAL, a busy timeout, versioned migrations, prepared
 * statements only. Writes run in IMMEDIATE transactions, so concurrent `pay` processes queue on
 * the write lock instead of failing on a lock upgrade.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { PayError, configError, invalid } from '../core/errors.js';
import {
  assertRefundable,
  nextOrderStatus,
  nextRefundStatus,
  statusAfterRefunds,
  type Order,
  type Refund,
} from '../core/order.js';
import { redact } from '../core/redact.js';
import { isoUtc, systemClock, type Clock } from '../core/time.js';
import { MIGRATIONS, type Migration } from './migrations.js';
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

/** Options for {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  clock?: Clock;
  /** ms to wait for another process's write lock (default 15,000). */
  busyTimeoutMs?: number;
  /** Open without creating or migrating (read-only tools). */
  readonly?: boolean;
  /** Migrations to apply (tests pass their own); default {@link MIGRATIONS}. */
  migrations?: Migration[];
}

type Row = Record<string, unknown>;

const ORDER_COLUMNS =
  'order_no, kind, channel, status, amount_minor, currency, refunded_minor, subject, method, payee, payee_name, channel_trade_no, failure_code, failure_message, payload, source, created_at, updated_at, paid_at';

function rowToOrder(r: Row): Order {
  const o: Order = {
    orderNo: r.order_no as string,
    kind: r.kind as Order['kind'],
    channel: r.channel as string,
    status: r.status as Order['status'],
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    refundedMinor: r.refunded_minor as number,
    source: r.source as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
  if (r.subject != null) o.subject = r.subject as string;
  if (r.method != null) o.method = r.method as string;
  if (r.payee != null) o.payee = r.payee as string;
  if (r.payee_name != null) o.payeeName = r.payee_name as string;
  if (r.channel_trade_no != null) o.channelTradeNo = r.channel_trade_no as string;
  if (r.failure_code != null) o.failureCode = r.failure_code as string;
  if (r.failure_message != null) o.failureMessage = r.failure_message as string;
  if (r.payload != null) o.payload = JSON.parse(r.payload as string) as Record<string, unknown>;
  if (r.paid_at != null) o.paidAt = r.paid_at as string;
  return o;
}

function rowToRefund(r: Row): Refund {
  const f: Refund = {
    refundNo: r.refund_no as string,
    orderNo: r.order_no as string,
    channel: r.channel as string,
    status: r.status as Refund['status'],
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
  if (r.reason != null) f.reason = r.reason as string;
  if (r.channel_refund_no != null) f.channelRefundNo = r.channel_refund_no as string;
  if (r.failure_code != null) f.failureCode = r.failure_code as string;
  if (r.failure_message != null) f.failureMessage = r.failure_message as string;
  if (r.refunded_at != null) f.refundedAt = r.refunded_at as string;
  return f;
}

function rowToEvent(r: Row): StoredEvent {
  const e: StoredEvent = {
    id: r.id as number,
    at: r.at as string,
    type: r.type as string,
    data: JSON.parse(r.data as string) as Record<string, unknown>,
  };
  if (r.channel != null) e.channel = r.channel as string;
  if (r.order_no != null) e.orderNo = r.order_no as string;
  if (r.refund_no != null) e.refundNo = r.refund_no as string;
  return e;
}

/** Maps better-sqlite3 errors on open to errors a user can act on. */
function openError(path: string, err: unknown): PayError {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return configError(`database ${path} is not a pay database, or is damaged (${e.message})`, {
      hint: 'Point --db (or PAY_DB) at another file; keep the damaged one for inspection.',
      cause: err,
    });
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EPERM' || code === 'SQLITE_READONLY') {
    return configError(`cannot open database ${path} for writing (${e.message ?? code})`, {
      hint: 'Choose a writable location with --db or PAY_DB.',
      cause: err,
    });
  }
  if (code === 'SQLITE_BUSY') {
    return new PayError('SYSTEM_ERROR', `database ${path} stayed locked by another process`, { cause: err });
  }
  return configError(`cannot open database ${path}: ${e.message ?? String(err)}`, { cause: err });
}

const requireCjs = createRequire(import.meta.url);

/** The SQLite {@link Store}. */
export class SqliteStore implements Store {
  readonly location: string;
  /** The connection; sibling store modules (reconciliation) prepare their own statements on it. */
  readonly db: BetterSqlite3.Database;
  private readonly clock: Clock;
  private readonly stmts = new Map<string, BetterSqlite3.Statement>();

  private constructor(path: string, db: BetterSqlite3.Database, clock: Clock) {
    this.location = path;
    this.db = db;
    this.clock = clock;
  }

  /** Opens (creating and migrating as needed) the database at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const Database = requireCjs('better-sqlite3') as typeof BetterSqlite3;
    let db: BetterSqlite3.Database | undefined;
    try {
      if (path !== ':memory:' && !options.readonly) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 15000}`);
      if (!options.readonly) {
        // journal_mode needs a lock of its own; the busy timeout above covers concurrent openers.
        const mode = db.pragma('journal_mode', { simple: true });
        if (mode !== 'wal' && path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
      db.pragma('foreign_keys = ON');
      const store = new SqliteStore(path, db, options.clock ?? systemClock);
      if (!options.readonly) store.migrate(options.migrations ?? MIGRATIONS);
      return store;
    } catch (err) {
      try {
        db?.close();
      } catch {
        /* already failing */
      }
      throw err instanceof PayError ? err : openError(path, err);
    }
  }

  /** Applies pending migrations, each once even with several processes racing. */
  private migrate(migrations: Migration[]): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    const current = () => (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    const have = current();
    if (have > latest) {
      throw configError(`database ${this.location} was written by a newer pay (schema ${have}, this pay knows ${latest})`, {
        hint: 'Upgrade pay, or use another --db.',
      });
    }
    if (have === latest) return;
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      this.db
        .transaction(() => {
          const done = this.db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
          if (done) return;
          this.db.exec(m.sql);
          this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, this.now());
        })
        .immediate();
    }
  }

  /** A cached prepared statement. */
  prepare(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in an IMMEDIATE transaction (takes the write lock up front). */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  now(): string {
    return isoUtc(this.clock());
  }

  private insertEvent(e: NewEvent): void {
    const data = redact(e.data ?? {});
    this.prepare('INSERT INTO events (at, type, channel, order_no, refund_no, data) VALUES (?, ?, ?, ?, ?, ?)').run(
      e.at ?? this.now(),
      e.type,
      e.channel ?? null,
      e.orderNo ?? null,
      e.refundNo ?? null,
      JSON.stringify(data),
    );
  }

  private getOrderSync(orderNo: string): Order | undefined {
    const r = this.prepare(`SELECT ${ORDER_COLUMNS} FROM orders WHERE order_no = ?`).get(orderNo) as Row | undefined;
    return r ? rowToOrder(r) : undefined;
  }

  private listRefundsSync(orderNo: string): Refund[] {
    return (this.prepare('SELECT * FROM refunds WHERE order_no = ? ORDER BY created_at, refund_no').all(orderNo) as Row[]).map(rowToRefund);
  }

  async createOrder(input: NewOrder, cause: EventCause = { source: 'cli' }): Promise<{ order: Order; created: boolean }> {
    return this.write(() => {
      const existing = this.getOrderSync(input.orderNo);
      if (existing) return { order: existing, created: false };
      const now = this.now();
      const createdAt = input.createdAt ?? now;
      this.prepare(
        `INSERT INTO orders (order_no, kind, channel, status, amount_minor, currency, refunded_minor, subject, method, payee, payee_name, channel_trade_no, source, created_at, updated_at, paid_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        input.orderNo,
        input.kind,
        input.channel,
        input.status ?? 'created',
        input.amountMinor,
        input.currency,
        input.refundedMinor ?? 0,
        input.subject ?? null,
        input.method ?? null,
        input.payee ?? null,
        input.payeeName ?? null,
        input.channelTradeNo ?? null,
        input.source ?? 'cli',
        createdAt,
        now,
        input.paidAt ?? null,
      );
      this.insertEvent({
        type: 'order.created',
        channel: input.channel,
        orderNo: input.orderNo,
        data: {
          source: cause.source,
          kind: input.kind,
          status: input.status ?? 'created',
          amountMinor: input.amountMinor,
          currency: input.currency,
          ...(cause.detail ?? {}),
        },
      });
      return { order: this.getOrderSync(input.orderNo)!, created: true };
    });
  }

  async getOrder(orderNo: string): Promise<Order | undefined> {
    return this.getOrderSync(orderNo);
  }

  async findOrderByChannelTradeNo(channel: string, channelTradeNo: string): Promise<Order | undefined> {
    const r = this.prepare(`SELECT ${ORDER_COLUMNS} FROM orders WHERE channel = ? AND channel_trade_no = ? LIMIT 1`).get(channel, channelTradeNo) as Row | undefined;
    return r ? rowToOrder(r) : undefined;
  }

  private where(filter: OrderFilter): { sql: string; args: unknown[] } {
    const parts: string[] = [];
    const args: unknown[] = [];
    if (filter.channel) {
      parts.push('channel = ?');
      args.push(filter.channel);
    }
    if (filter.status) {
      parts.push('status = ?');
      args.push(filter.status);
    }
    if (filter.kind) {
      parts.push('kind = ?');
      args.push(filter.kind);
    }
    if (filter.since) {
      parts.push('created_at >= ?');
      args.push(filter.since);
    }
    if (filter.until) {
      parts.push('created_at < ?');
      args.push(filter.until);
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
  }

  async listOrders(filter: OrderFilter = {}): Promise<Order[]> {
    const { sql, args } = this.where(filter);
    const limit = filter.limit ?? 50;
    const offset = filter.offset ?? 0;
    const rows = this.prepare(`SELECT ${ORDER_COLUMNS} FROM orders ${sql} ORDER BY created_at DESC, order_no DESC LIMIT ? OFFSET ?`).all(...args, limit, offset) as Row[];
    return rows.map(rowToOrder);
  }

  async countOrders(filter: OrderFilter = {}): Promise<number> {
    const { sql, args } = this.where(filter);
    return (this.prepare(`SELECT COUNT(*) AS n FROM orders ${sql}`).get(...args) as { n: number }).n;
  }

  async rerouteOrder(orderNo: string, from: string, to: string, cause: EventCause): Promise<Order> {
    return this.write(() => {
      const order = this.getOrderSync(orderNo);
      if (!order) throw new PayError('ORDER_NOT_FOUND', `order ${orderNo} is not in the order book`);
      if (order.status !== 'created' || order.channel !== from) {
        throw invalid(`order ${orderNo} cannot move from ${from} to ${to}: it is ${order.status} on ${order.channel}`);
      }
      const now = this.now();
      this.prepare('UPDATE orders SET channel = ?, updated_at = ? WHERE order_no = ?').run(to, now, orderNo);
      this.insertEvent({ type: 'order.rerouted', channel: to, orderNo, data: { from, to, source: cause.source, ...(cause.detail ?? {}) } });
      return { ...order, channel: to, updatedAt: now };
    });
  }

  async updateOrder(orderNo: string, patch: OrderPatch, cause: EventCause): Promise<UpdateResult<Order>> {
    return this.write(() => {
      const order = this.getOrderSync(orderNo);
      if (!order) throw new PayError('ORDER_NOT_FOUND', `order ${orderNo} is not in the order book`);
      let ignored: string | undefined;
      let status = order.status;
      if (patch.status !== undefined) {
        const t = nextOrderStatus(order.status, patch.status);
        status = t.status;
        ignored = t.ignored;
      }
      const statusChanged = status !== order.status;
      const next: Order = { ...order, status };
      // Facts (trade number, payload, failure) are taken even when a stale status is ignored.
      if (patch.channelTradeNo && patch.channelTradeNo !== order.channelTradeNo) next.channelTradeNo = patch.channelTradeNo;
      if (patch.payload) next.payload = { ...(order.payload ?? {}), ...patch.payload };
      if (statusChanged && (status === 'failed' || status === 'closed')) {
        if (patch.failureCode) next.failureCode = patch.failureCode;
        if (patch.failureMessage) next.failureMessage = patch.failureMessage;
      }
      if (statusChanged && status === 'succeeded') next.paidAt = patch.paidAt ?? this.now();
      const changed =
        statusChanged ||
        next.channelTradeNo !== order.channelTradeNo ||
        JSON.stringify(next.payload) !== JSON.stringify(order.payload) ||
        next.failureCode !== order.failureCode ||
        next.paidAt !== order.paidAt;
      if (!changed) return { value: order, changed: false, ignored };
      const now = this.now();
      this.prepare(
        `UPDATE orders SET status = ?, channel_trade_no = ?, payload = ?, failure_code = ?, failure_message = ?, paid_at = ?, updated_at = ? WHERE order_no = ?`,
      ).run(
        next.status,
        next.channelTradeNo ?? null,
        next.payload ? JSON.stringify(next.payload) : null,
        next.failureCode ?? null,
        next.failureMessage ?? null,
        next.paidAt ?? null,
        now,
        orderNo,
      );
      if (statusChanged) {
        this.insertEvent({
          type: 'order.status',
          channel: order.channel,
          orderNo,
          data: {
            from: order.status,
            to: status,
            source: cause.source,
            ...(next.failureCode && status !== 'succeeded' ? { failureCode: next.failureCode } : {}),
            ...(cause.detail ?? {}),
          },
        });
      }
      return { value: { ...next, updatedAt: now }, changed: true, ignored };
    });
  }

  async createRefund(input: NewRefund, cause: EventCause = { source: 'cli' }): Promise<{ refund: Refund; created: boolean }> {
    return this.write(() => {
      const existing = this.prepare('SELECT * FROM refunds WHERE refund_no = ?').get(input.refundNo) as Row | undefined;
      if (existing) return { refund: rowToRefund(existing), created: false };
      const order = this.getOrderSync(input.orderNo);
      if (!order) throw new PayError('ORDER_NOT_FOUND', `order ${input.orderNo} is not in the order book`);
      assertRefundable(order, this.listRefundsSync(input.orderNo), input.amountMinor);
      const now = this.now();
      this.prepare(
        `INSERT INTO refunds (refund_no, order_no, channel, status, amount_minor, currency, reason, created_at, updated_at) VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?)`,
      ).run(input.refundNo, input.orderNo, order.channel, input.amountMinor, order.currency, input.reason ?? null, input.createdAt ?? now, now);
      this.insertEvent({
        type: 'refund.created',
        channel: order.channel,
        orderNo: input.orderNo,
        refundNo: input.refundNo,
        data: { source: cause.source, amountMinor: input.amountMinor, currency: order.currency, ...(cause.detail ?? {}) },
      });
      return { refund: rowToRefund(this.prepare('SELECT * FROM refunds WHERE refund_no = ?').get(input.refundNo) as Row), created: true };
    });
  }

  async getRefund(refundNo: string): Promise<Refund | undefined> {
    const r = this.prepare('SELECT * FROM refunds WHERE refund_no = ?').get(refundNo) as Row | undefined;
    return r ? rowToRefund(r) : undefined;
  }

  async listRefunds(orderNo: string): Promise<Refund[]> {
    return this.listRefundsSync(orderNo);
  }

  async updateRefund(refundNo: string, patch: RefundPatch, cause: EventCause): Promise<UpdateResult<Refund>> {
    return this.write(() => {
      const row = this.prepare('SELECT * FROM refunds WHERE refund_no = ?').get(refundNo) as Row | undefined;
      if (!row) throw new PayError('ORDER_NOT_FOUND', `refund ${refundNo} is not in the order book`);
      const refund = rowToRefund(row);
      let status = refund.status;
      let ignored: string | undefined;
      if (patch.status !== undefined) {
        const t = nextRefundStatus(refund.status, patch.status);
        status = t.status;
        ignored = t.ignored;
      }
      const statusChanged = status !== refund.status;
      const next: Refund = { ...refund, status };
      if (patch.channelRefundNo && patch.channelRefundNo !== refund.channelRefundNo) next.channelRefundNo = patch.channelRefundNo;
      if (statusChanged && status === 'failed') {
        if (patch.failureCode) next.failureCode = patch.failureCode;
        if (patch.failureMessage) next.failureMessage = patch.failureMessage;
      }
      if (statusChanged && status === 'succeeded') next.refundedAt = patch.refundedAt ?? this.now();
      const changed = statusChanged || next.channelRefundNo !== refund.channelRefundNo;
      if (!changed) return { value: refund, changed: false, ignored };
      const now = this.now();
      this.prepare(
        'UPDATE refunds SET status = ?, channel_refund_no = ?, failure_code = ?, failure_message = ?, refunded_at = ?, updated_at = ? WHERE refund_no = ?',
      ).run(next.status, next.channelRefundNo ?? null, next.failureCode ?? null, next.failureMessage ?? null, next.refundedAt ?? null, now, refundNo);
      if (statusChanged) {
        this.insertEvent({
          type: 'refund.status',
          channel: refund.channel,
          orderNo: refund.orderNo,
          refundNo,
          data: { from: refund.status, to: status, source: cause.source, ...(cause.detail ?? {}) },
        });
      }
      if (statusChanged && status === 'succeeded') {
        const order = this.getOrderSync(refund.orderNo)!;
        const refunded = order.refundedMinor + refund.amountMinor;
        if (refunded > order.amountMinor) {
          throw invalid(`refund ${refundNo} would take ${order.orderNo} past its amount`);
        }
        const orderStatus = statusAfterRefunds(order, refunded);
        this.prepare('UPDATE orders SET refunded_minor = ?, status = ?, updated_at = ? WHERE order_no = ?').run(refunded, orderStatus, now, order.orderNo);
        if (orderStatus !== order.status) {
          this.insertEvent({
            type: 'order.status',
            channel: order.channel,
            orderNo: order.orderNo,
            data: { from: order.status, to: orderStatus, source: cause.source, refundNo },
          });
        }
      }
      return { value: { ...next, updatedAt: now }, changed: true, ignored };
    });
  }

  async appendEvent(event: NewEvent): Promise<void> {
    this.insertEvent(event);
  }

  async listEvents(filter: { orderNo?: string; type?: string; limit?: number } = {}): Promise<StoredEvent[]> {
    const parts: string[] = [];
    const args: unknown[] = [];
    if (filter.orderNo) {
      parts.push('order_no = ?');
      args.push(filter.orderNo);
    }
    if (filter.type) {
      parts.push('type = ?');
      args.push(filter.type);
    }
    const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
    const rows = this.prepare(`SELECT * FROM events ${where} ORDER BY id LIMIT ?`).all(...args, filter.limit ?? 1000) as Row[];
    return rows.map(rowToEvent);
  }

  async recordCallback(record: CallbackRecord): Promise<{ recorded: boolean; previous?: CallbackRecord }> {
    return this.write(() => {
      const prev = this.prepare('SELECT * FROM callbacks WHERE channel = ? AND dedup_key = ?').get(record.channel, record.dedupKey) as Row | undefined;
      if (prev) {
        return {
          recorded: false,
          previous: {
            channel: prev.channel as string,
            dedupKey: prev.dedup_key as string,
            eventType: prev.event_type as string,
            orderNo: (prev.order_no as string) ?? undefined,
            refundNo: (prev.refund_no as string) ?? undefined,
            bodySha256: prev.body_sha256 as string,
            outcome: prev.outcome as string,
            receivedAt: prev.received_at as string,
          },
        };
      }
      this.prepare(
        'INSERT INTO callbacks (channel, dedup_key, event_type, order_no, refund_no, body_sha256, outcome, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        record.channel,
        record.dedupKey,
        record.eventType,
        record.orderNo ?? null,
        record.refundNo ?? null,
        record.bodySha256,
        record.outcome,
        record.receivedAt ?? this.now(),
      );
      this.insertEvent({
        type: 'callback.recorded',
        channel: record.channel,
        orderNo: record.orderNo,
        refundNo: record.refundNo,
        data: { dedupKey: record.dedupKey, eventType: record.eventType, outcome: record.outcome, bodySha256: record.bodySha256 },
      });
      return { recorded: true };
    });
  }

  async getCallback(channel: string, dedupKey: string): Promise<CallbackRecord | undefined> {
    const r = this.prepare('SELECT * FROM callbacks WHERE channel = ? AND dedup_key = ?').get(channel, dedupKey) as Row | undefined;
    if (!r) return undefined;
    return {
      channel: r.channel as string,
      dedupKey: r.dedup_key as string,
      eventType: r.event_type as string,
      orderNo: (r.order_no as string) ?? undefined,
      refundNo: (r.refund_no as string) ?? undefined,
      bodySha256: r.body_sha256 as string,
      outcome: r.outcome as string,
      receivedAt: r.received_at as string,
    };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
