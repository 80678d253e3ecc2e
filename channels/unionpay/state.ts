/**
 * The channel's own memory of when it sent each order. UnionPay identifies a transaction by
 * merId + orderId + txnTime (the "order send time"), and a query must repeat the exact txnTime;
 * the contract's collect request carries no creation time, so the adapter records the txnTime it
 * sends, before sending, in `<stateDir>/unionpay.sqlite`. A retried create reuses it (the same
 * order at UnionPay), and a later `pay query` in another process finds it.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

/** What was sent for one merchant order number (payment, refund or void). */
export interface SentRecord {
  orderId: string;
  /** yyyyMMddHHmmss, Beijing time, exactly as sent. */
  txnTime: string;
  /** txnType sent (01 consume, 04 refund, 31 void). */
  txnType: string;
  /** The backUrl sent with it (a refund notifies where its payment did when none is given). */
  backUrl?: string;
}

/** Where sent records live. */
export interface SentJournal {
  get(orderId: string): SentRecord | undefined;
  /** Records `r` unless the order id is known; returns the stored record either way. */
  putIfAbsent(r: SentRecord): SentRecord;
  close(): void;
}

/** In memory (load tests, unit tests). */
export class MemoryJournal implements SentJournal {
  private readonly map = new Map<string, SentRecord>();
  get(orderId: string) {
    return this.map.get(orderId);
  }
  putIfAbsent(r: SentRecord) {
    const existing = this.map.get(r.orderId);
    if (existing) return existing;
    this.map.set(r.orderId, r);
    return r;
  }
  close() {}
}

const requireCjs = createRequire(import.meta.url);

/** In `<stateDir>/unionpay.sqlite`, shared by every process using the same pay database. */
export class SqliteJournal implements SentJournal {
  private readonly db: BetterSqlite3.Database;
  private readonly select: BetterSqlite3.Statement;
  private readonly insert: BetterSqlite3.Statement;

  constructor(stateDir: string) {
    const Database = requireCjs('better-sqlite3') as typeof BetterSqlite3;
    this.db = new Database(join(stateDir, 'unionpay.sqlite'));
    this.db.pragma('busy_timeout = 15000');
    if (this.db.pragma('journal_mode', { simple: true }) !== 'wal') this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS sent (order_id TEXT PRIMARY KEY, txn_time TEXT NOT NULL, txn_type TEXT NOT NULL, back_url TEXT)');
    this.select = this.db.prepare('SELECT order_id AS orderId, txn_time AS txnTime, txn_type AS txnType, back_url AS backUrl FROM sent WHERE order_id = ?');
    this.insert = this.db.prepare('INSERT INTO sent (order_id, txn_time, txn_type, back_url) VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING');
  }

  /** Records never change once written, so a hit is kept (queries poll the same orders). */
  private readonly cache = new Map<string, SentRecord>();

  get(orderId: string): SentRecord | undefined {
    const hit = this.cache.get(orderId);
    if (hit) return hit;
    const found = this.read(orderId);
    if (found) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(orderId, found);
    }
    return found;
  }

  private read(orderId: string): SentRecord | undefined {
    const r = this.select.get(orderId) as { orderId: string; txnTime: string; txnType: string; backUrl: string | null } | undefined;
    if (!r) return undefined;
    const { backUrl, ...rest } = r;
    return backUrl === null ? rest : { ...rest, backUrl };
  }

  putIfAbsent(r: SentRecord): SentRecord {
    this.insert.run(r.orderId, r.txnTime, r.txnType, r.backUrl ?? null);
    return this.get(r.orderId) ?? r;
  }

  close(): void {
    this.db.close();
  }
}
