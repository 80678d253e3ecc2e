/**
 * The mock channel's own books: trades (collects and payouts) and refunds, as the "provider"
 * sees them. Persisted in a SQLite file in the channel's state directory so that `pay create`
 * and a later `pay query` in another process see the same trade progress; an in-memory variant
 * serves load tests (`persist: false`).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

/** A trade as the mock provider holds it. */
export interface MockTrade {
  orderNo: string;
  tradeNo: string;
  kind: 'collect' | 'payout';
  amountMinor: number;
  currency: string;
  feeMinor: number;
  createdMs: number;
  /** When the trade reaches its outcome. */
  settleMs: number;
  /** Decided at creation from the seed; visible once settled. */
  outcome: 'succeeded' | 'failed';
  failureCode?: string;
  closedMs?: number;
  payee?: string;
}

/** A refund as the mock provider holds it. */
export interface MockRefund {
  refundNo: string;
  orderNo: string;
  refundTradeNo: string;
  amountMinor: number;
  currency: string;
  createdMs: number;
  settleMs: number;
}

/** Balance per currency. */
export interface MockBalance {
  currency: string;
  availableMinor: number;
  pendingMinor: number;
}

/** Storage of the mock's books. */
export interface MockState {
  getTrade(orderNo: string): MockTrade | undefined;
  /** Inserts unless the order number exists; returns the stored trade either way. */
  insertTrade(trade: MockTrade): { trade: MockTrade; created: boolean };
  /**
   * Inserts a payout if `available(currency)` covers it, atomically with the balance check.
   * Returns undefined when short.
   */
  insertPayout(trade: MockTrade, initialMinor: (currency: string) => number, nowMs: number): { trade: MockTrade; created: boolean } | undefined;
  closeTrade(orderNo: string, nowMs: number): void;
  getRefund(refundNo: string): MockRefund | undefined;
  insertRefund(refund: MockRefund): { refund: MockRefund; created: boolean };
  refundsOf(orderNo: string): MockRefund[];
  balances(nowMs: number, initialMinor: (currency: string) => number): MockBalance[];
  /** Trades settled in [startMs, endMs). */
  tradesSettledBetween(startMs: number, endMs: number): MockTrade[];
  /** Refunds settled in [startMs, endMs). */
  refundsSettledBetween(startMs: number, endMs: number): MockRefund[];
  close(): void;
}

/** Trades the in-memory books keep at most (about 200 MB) before forgetting the oldest half. */
export const MEMORY_TRADE_LIMIT = 200_000;

/**
 * A map bounded by generations: entries go into `young`; when it holds half the limit, `old` is
 * dropped and `young` becomes `old`. A hit in `old` moves the entry back to `young`, so what is
 * still in use survives. O(1) per operation with no scans (evicting one entry at a time from the
 * head of a Map walks the holes deletions leave, which made load tests quadratic).
 */
class GenerationalMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  constructor(private readonly half: number) {}
  get(key: string): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.set(key, o);
    }
    return o;
  }
  set(key: string, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }
  *values(): IterableIterator<V> {
    yield* this.old.values();
    yield* this.young.values();
  }
}

/**
 * In-memory books (one process; load tests). Bounded: trades, refunds and the refunds-by-order
 * index are kept in generations of half the limit each, so a long in-process load test cannot
 * exhaust memory; trades not touched for a generation are forgotten (with their refunds), and
 * balances and bills cover the trades still held.
 */
export class MemoryMockState implements MockState {
  private trades: GenerationalMap<MockTrade>;
  private refunds: GenerationalMap<MockRefund>;
  // Refunds per order: a scan of every refund per refund made refund load tests quadratic.
  private refundsByOrder: GenerationalMap<MockRefund[]>;

  constructor(limit = MEMORY_TRADE_LIMIT) {
    const half = Math.max(1, Math.floor(limit / 2));
    this.trades = new GenerationalMap(half);
    this.refunds = new GenerationalMap(half);
    this.refundsByOrder = new GenerationalMap(half);
  }

  getTrade(orderNo: string) {
    return this.trades.get(orderNo);
  }
  insertTrade(trade: MockTrade) {
    const existing = this.trades.get(trade.orderNo);
    if (existing) return { trade: existing, created: false };
    this.trades.set(trade.orderNo, trade);
    return { trade, created: true };
  }
  insertPayout(trade: MockTrade, initialMinor: (c: string) => number, nowMs: number) {
    const existing = this.trades.get(trade.orderNo);
    if (existing) return { trade: existing, created: false };
    const bal = this.balances(nowMs, initialMinor).find((b) => b.currency === trade.currency);
    const available = bal ? bal.availableMinor : initialMinor(trade.currency);
    if (available < trade.amountMinor + trade.feeMinor) return undefined;
    return this.insertTrade(trade);
  }
  closeTrade(orderNo: string, nowMs: number) {
    const t = this.trades.get(orderNo);
    if (t && t.closedMs === undefined) t.closedMs = nowMs;
  }
  getRefund(refundNo: string) {
    const r = this.refunds.get(refundNo);
    return r && this.trades.get(r.orderNo) ? r : undefined;
  }
  insertRefund(refund: MockRefund) {
    const existing = this.getRefund(refund.refundNo);
    if (existing) return { refund: existing, created: false };
    this.refunds.set(refund.refundNo, refund);
    const list = this.refundsByOrder.get(refund.orderNo);
    if (list) list.push(refund);
    else this.refundsByOrder.set(refund.orderNo, [refund]);
    return { refund, created: true };
  }
  refundsOf(orderNo: string) {
    // A refund is only as alive as its trade: once the trade is forgotten, so are its refunds.
    if (!this.trades.get(orderNo)) return [];
    return [...(this.refundsByOrder.get(orderNo) ?? [])];
  }
  balances(nowMs: number, initialMinor: (c: string) => number): MockBalance[] {
    return computeBalances([...this.trades.values()], [...this.refunds.values()], nowMs, initialMinor);
  }
  tradesSettledBetween(startMs: number, endMs: number) {
    return [...this.trades.values()].filter((t) => t.settleMs >= startMs && t.settleMs < endMs);
  }
  refundsSettledBetween(startMs: number, endMs: number) {
    return [...this.refunds.values()].filter((r) => r.settleMs >= startMs && r.settleMs < endMs);
  }
  close() {}
}

/** A trade counts as paid once settled with a successful outcome, unless closed before that. */
export function isPaid(t: MockTrade, nowMs: number): boolean {
  return t.outcome === 'succeeded' && t.settleMs <= nowMs && (t.closedMs === undefined || t.closedMs >= t.settleMs);
}

function computeBalances(trades: MockTrade[], refunds: MockRefund[], nowMs: number, initialMinor: (c: string) => number): MockBalance[] {
  const acc = new Map<string, MockBalance>();
  const get = (c: string) => {
    let b = acc.get(c);
    if (!b) {
      b = { currency: c, availableMinor: initialMinor(c), pendingMinor: 0 };
      acc.set(c, b);
    }
    return b;
  };
  for (const t of trades) {
    const b = get(t.currency);
    if (t.kind === 'collect') {
      if (isPaid(t, nowMs)) b.availableMinor += t.amountMinor - t.feeMinor;
      else if (t.outcome === 'succeeded' && t.closedMs === undefined) b.pendingMinor += t.amountMinor - t.feeMinor;
    } else if (!(t.outcome === 'failed' && t.settleMs <= nowMs)) {
      // A payout holds its funds from the moment it is accepted.
      b.availableMinor -= t.amountMinor + t.feeMinor;
    }
  }
  for (const r of refunds) get(r.currency).availableMinor -= r.amountMinor;
  return [...acc.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

const requireCjs = createRequire(import.meta.url);

type Row = Record<string, unknown>;

function rowToTrade(r: Row): MockTrade {
  const t: MockTrade = {
    orderNo: r.order_no as string,
    tradeNo: r.trade_no as string,
    kind: r.kind as MockTrade['kind'],
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    feeMinor: r.fee_minor as number,
    createdMs: r.created_ms as number,
    settleMs: r.settle_ms as number,
    outcome: r.outcome as MockTrade['outcome'],
  };
  if (r.failure_code != null) t.failureCode = r.failure_code as string;
  if (r.closed_ms != null) t.closedMs = r.closed_ms as number;
  if (r.payee != null) t.payee = r.payee as string;
  return t;
}

function rowToRefund(r: Row): MockRefund {
  return {
    refundNo: r.refund_no as string,
    orderNo: r.order_no as string,
    refundTradeNo: r.refund_trade_no as string,
    amountMinor: r.amount_minor as number,
    currency: r.currency as string,
    createdMs: r.created_ms as number,
    settleMs: r.settle_ms as number,
  };
}

/** Books in `<stateDir>/mock.sqlite`, shared by every process using the same pay database. */
export class SqliteMockState implements MockState {
  private opened?: BetterSqlite3.Database;
  private stmts = new Map<string, BetterSqlite3.Statement>();

  /** `stateDir` is asked for on first use: a command that fails before that leaves no file. */
  constructor(private readonly stateDir: string | (() => string)) {}

  private get db(): BetterSqlite3.Database {
    if (this.opened) return this.opened;
    const Database = requireCjs('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(join(typeof this.stateDir === 'function' ? this.stateDir() : this.stateDir, 'mock.sqlite'));
    db.pragma('busy_timeout = 15000');
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS trades (
        order_no TEXT PRIMARY KEY, trade_no TEXT NOT NULL, kind TEXT NOT NULL, amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL, fee_minor INTEGER NOT NULL, created_ms INTEGER NOT NULL, settle_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL, failure_code TEXT, closed_ms INTEGER, payee TEXT);
      CREATE INDEX IF NOT EXISTS trades_settle ON trades (settle_ms);
      CREATE TABLE IF NOT EXISTS refunds (
        refund_no TEXT PRIMARY KEY, order_no TEXT NOT NULL, refund_trade_no TEXT NOT NULL, amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL, created_ms INTEGER NOT NULL, settle_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS refunds_order ON refunds (order_no);
      CREATE INDEX IF NOT EXISTS refunds_settle ON refunds (settle_ms);
    `);
    return (this.opened = db);
  }

  private q(sql: string): BetterSqlite3.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  getTrade(orderNo: string) {
    const r = this.q('SELECT * FROM trades WHERE order_no = ?').get(orderNo) as Row | undefined;
    return r ? rowToTrade(r) : undefined;
  }

  private insertTradeSync(t: MockTrade): { trade: MockTrade; created: boolean } {
    const existing = this.getTrade(t.orderNo);
    if (existing) return { trade: existing, created: false };
    this.q(
      'INSERT INTO trades (order_no, trade_no, kind, amount_minor, currency, fee_minor, created_ms, settle_ms, outcome, failure_code, payee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(t.orderNo, t.tradeNo, t.kind, t.amountMinor, t.currency, t.feeMinor, t.createdMs, t.settleMs, t.outcome, t.failureCode ?? null, t.payee ?? null);
    return { trade: t, created: true };
  }

  insertTrade(t: MockTrade) {
    return this.db.transaction(() => this.insertTradeSync(t)).immediate();
  }

  insertPayout(t: MockTrade, initialMinor: (c: string) => number, nowMs: number) {
    return this.db
      .transaction(() => {
        const existing = this.getTrade(t.orderNo);
        if (existing) return { trade: existing, created: false };
        const bal = this.balances(nowMs, initialMinor).find((b) => b.currency === t.currency);
        const available = bal ? bal.availableMinor : initialMinor(t.currency);
        if (available < t.amountMinor + t.feeMinor) return undefined;
        return this.insertTradeSync(t);
      })
      .immediate();
  }

  closeTrade(orderNo: string, nowMs: number) {
    this.q('UPDATE trades SET closed_ms = ? WHERE order_no = ? AND closed_ms IS NULL').run(nowMs, orderNo);
  }

  getRefund(refundNo: string) {
    const r = this.q('SELECT * FROM refunds WHERE refund_no = ?').get(refundNo) as Row | undefined;
    return r ? rowToRefund(r) : undefined;
  }

  insertRefund(refund: MockRefund) {
    return this.db
      .transaction(() => {
        const existing = this.getRefund(refund.refundNo);
        if (existing) return { refund: existing, created: false };
        this.q('INSERT INTO refunds (refund_no, order_no, refund_trade_no, amount_minor, currency, created_ms, settle_ms) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          refund.refundNo,
          refund.orderNo,
          refund.refundTradeNo,
          refund.amountMinor,
          refund.currency,
          refund.createdMs,
          refund.settleMs,
        );
        return { refund, created: true };
      })
      .immediate();
  }

  refundsOf(orderNo: string) {
    return (this.q('SELECT * FROM refunds WHERE order_no = ? ORDER BY created_ms').all(orderNo) as Row[]).map(rowToRefund);
  }

  balances(nowMs: number, initialMinor: (c: string) => number): MockBalance[] {
    const trades = (this.q('SELECT * FROM trades').all() as Row[]).map(rowToTrade);
    const refunds = (this.q('SELECT * FROM refunds').all() as Row[]).map(rowToRefund);
    return computeBalances(trades, refunds, nowMs, initialMinor);
  }

  tradesSettledBetween(startMs: number, endMs: number) {
    return (this.q('SELECT * FROM trades WHERE settle_ms >= ? AND settle_ms < ? ORDER BY settle_ms, order_no').all(startMs, endMs) as Row[]).map(rowToTrade);
  }

  refundsSettledBetween(startMs: number, endMs: number) {
    return (this.q('SELECT * FROM refunds WHERE settle_ms >= ? AND settle_ms < ? ORDER BY settle_ms, refund_no').all(startMs, endMs) as Row[]).map(rowToRefund);
  }

  close() {
    if (this.opened?.open) this.opened.close();
  }
}
