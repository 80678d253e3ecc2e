/**
 * The SQLite order store (better-sqlite3): WAL, a busy timeout, versioned migrations, prepared
 * statements only. Writes run in IMMEDIATE transactions, so concurrent `pay` processes queue on
 * the write lock instead of failing on a lock upgrade.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { PayError, configError, invalid } from '../core/errors.js';
import { assertRefundable, type Order, type Refund } from '../core/order.js';
import { redact } from '../core/redact.js';
import { isoUtc, systemClock, type Clock } from '../core/time.js';
import { databaseError } from './database-errors.js';
import type { StoreAdmin } from './admin.js';
import { callbackEvent, orderAfterRefund, orderCreatedEvent, planOrderUpdate, planRefundUpdate, refundCreatedEvent } from './changes.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import type { OrderImport } from './order-import.js';
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

/** Options for {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  clock?: Clock;
  /** ms to wait for another process's write lock (default 15,000). */
  busyTimeoutMs?: number;
  /** Open without creating or migrating (read-only tools). */
  readonly?: boolean;
  /**
   * The command only reads (or changes what is already there): a missing database is an error,
   * and nothing is created.
   */
  mustExist?: boolean;
  /**
   * Create missing folders above the database (pay's default location). Otherwise a new database
   * is created only in a folder that exists.
   */
  createDirs?: boolean;
  /** Migrations to apply (tests pass their own); default {@link MIGRATIONS}. */
  migrations?: Migration[];
  /** Apply pending migrations (default true; `pay db migrate` looks first). */
  migrate?: boolean;
}

/** Maps errors on open to errors a user can act on (exit 2, with what to do). */
function openError(path: string, err: unknown): PayError {
  return databaseError(err, path) ?? configError(`cannot open database ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Refuses, before anything is created, a database that is missing or may not be created where asked. */
function checkLocation(path: string, options: SqliteStoreOptions): void {
  if (path === ':memory:') return;
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    throw configError(`database ${path} is a folder, not a file`, { hint: 'Point --db or PAY_DB at a file (e.g. <folder>/pay.db).' });
  }
  if (stat) return;
  if (options.mustExist || options.readonly) {
    throw configError(`there is no order book at ${path}`, {
      hint: 'Check --db or PAY_DB (see "The order book" in README.md). A database is created by the first command that writes to it: pay create, pay payout, pay orders import, pay demo.',
    });
  }
  const dir = dirname(path);
  if (existsSync(dir)) return;
  if (!options.createDirs) {
    throw configError(`folder ${dir} does not exist, so database ${path} cannot be created there`, {
      hint: `Create the folder first (mkdir -p ${dir}) or set PAY_DB_CREATE_DIRS=1, or choose another --db or PAY_DB. pay creates folders unasked only for its default location.`,
    });
  }
  mkdirSync(dir, { recursive: true });
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
      checkLocation(path, options);
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: Boolean(options.readonly || options.mustExist) });
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 15000}`);
      if (!options.readonly) {
        // journal_mode needs a lock of its own; the busy timeout above covers concurrent openers.
        const mode = db.pragma('journal_mode', { simple: true });
        if (mode !== 'wal' && path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
      }
      db.pragma('foreign_keys = ON');
      const store = new SqliteStore(path, db, options.clock ?? systemClock);
      if (!options.readonly && options.migrate !== false) store.migrate(options.migrations ?? MIGRATIONS);
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

  /**
   * BEGIN IMMEDIATE .. COMMIT around an async body (bulk work in steps): its statements are
   * synchronous underneath, so nothing else runs on the connection but what `fn` awaits.
   */
  async writeAsync<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
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
      this.prepare(`INSERT INTO orders (${NEW_ORDER_COLUMNS.join(', ')}) VALUES (${NEW_ORDER_COLUMNS.map(() => '?').join(', ')})`).run(newOrderValues(input, this.now()));
      this.insertEvent(orderCreatedEvent(input, cause));
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
      const plan = planOrderUpdate(order, patch, cause, this.now());
      const next = plan.next;
      if (!plan.changed) return { value: order, changed: false, ignored: plan.ignored };
      this.prepare(
        `UPDATE orders SET status = ?, amount_minor = ?, channel_trade_no = ?, payload = ?, failure_code = ?, failure_message = ?, paid_at = ?, updated_at = ? WHERE order_no = ?`,
      ).run(
        next.status,
        next.amountMinor,
        next.channelTradeNo ?? null,
        next.payload ? JSON.stringify(next.payload) : null,
        next.failureCode ?? null,
        next.failureMessage ?? null,
        next.paidAt ?? null,
        next.updatedAt,
        orderNo,
      );
      if (plan.event) this.insertEvent(plan.event);
      if (plan.captureEvent) this.insertEvent(plan.captureEvent);
      return { value: next, changed: true, ignored: plan.ignored };
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
      this.insertEvent(refundCreatedEvent(input, order, cause));
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
      const plan = planRefundUpdate(refund, patch, cause, this.now());
      const next = plan.next;
      if (!plan.changed) return { value: refund, changed: false, ignored: plan.ignored };
      this.prepare(
        'UPDATE refunds SET status = ?, channel_refund_no = ?, failure_code = ?, failure_message = ?, refunded_at = ?, updated_at = ? WHERE refund_no = ?',
      ).run(next.status, next.channelRefundNo ?? null, next.failureCode ?? null, next.failureMessage ?? null, next.refundedAt ?? null, next.updatedAt, refundNo);
      if (plan.event) this.insertEvent(plan.event);
      if (plan.event && next.status === 'succeeded') {
        const order = this.getOrderSync(refund.orderNo)!;
        const after = orderAfterRefund(order, refund, cause);
        this.prepare('UPDATE orders SET refunded_minor = ?, status = ?, updated_at = ? WHERE order_no = ?').run(after.refundedMinor, after.status, next.updatedAt, order.orderNo);
        if (after.event) this.insertEvent(after.event);
      }
      return { value: next, changed: true, ignored: plan.ignored };
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
        return { recorded: false, previous: rowToCallback(prev) };
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
      this.insertEvent(callbackEvent(record));
      return { recorded: true };
    });
  }

  async getCallback(channel: string, dedupKey: string): Promise<CallbackRecord | undefined> {
    const r = this.prepare('SELECT * FROM callbacks WHERE channel = ? AND dedup_key = ?').get(channel, dedupKey) as Row | undefined;
    return r ? rowToCallback(r) : undefined;
  }

  async reconciliation(): Promise<ReconcileStore> {
    const { SqliteReconcileStore } = await import('./sqlite-reconcile-store.js');
    return new SqliteReconcileStore(this);
  }

  async orderImport(): Promise<OrderImport> {
    const { SqliteOrderImport } = await import('./sqlite-order-import.js');
    return new SqliteOrderImport(this);
  }

  async stats(): Promise<StatsStore> {
    const { SqliteStatsStore } = await import('./sqlite-stats-store.js');
    return new SqliteStatsStore(this);
  }

  async admin(): Promise<StoreAdmin> {
    return {
      schemaVersion: async () =>
        this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get()
          ? (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v
          : 0,
      all: async (sql, params = []) => this.prepare(sql).all(...params) as Row[],
      run: async (sql, params = []) => this.prepare(sql).run(...params).changes,
      insertId: async (sql, params) => Number(this.prepare(sql).run(...params).lastInsertRowid),
      transaction: (fn) => this.writeAsync(fn),
      close: async () => {},
    };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
