/**
 * The SQLite {@link OrderImport}: the stage is TEMP tables (a temporary file, not memory) filled
 * with multi-row prepared inserts; the checks and the write are staged-order-import.ts's SQL,
 * the write in one IMMEDIATE transaction. The file's line number is the stage's rowid (one row
 * per line, staged in order): the write reads the stage in file order without sorting it, and a
 * rejected line is found without a scan.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { ImportRow } from './order-import.js';
import type { SqliteStore } from './sqlite-store.js';
import { IMPORT_COLUMNS, importValues, StagedOrderImport } from './staged-order-import.js';

const COLS = IMPORT_COLUMNS.length;
const BATCH = 200;

/** The import of one file into one SQLite store. */
export class SqliteOrderImport extends StagedOrderImport {
  protected readonly jsonObject = 'json_object';
  private readonly db: BetterSqlite3.Database;
  private insertMany!: BetterSqlite3.Statement;
  private insertOne!: BetterSqlite3.Statement;

  constructor(private readonly store: SqliteStore) {
    super();
    this.db = store.db;
  }

  async begin(): Promise<void> {
    this.dropStage();
    this.db.exec(`
      CREATE TEMP TABLE imp (
        line INTEGER PRIMARY KEY, k TEXT NOT NULL, kind TEXT NOT NULL, order_no TEXT NOT NULL, refund_no TEXT, channel TEXT NOT NULL,
        amount INTEGER NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, paid_at TEXT, trade_no TEXT,
        bad INTEGER NOT NULL DEFAULT 0, action TEXT
      );
      CREATE TEMP TABLE imp_err (seq INTEGER PRIMARY KEY, line INTEGER NOT NULL, order_no TEXT, refund_no TEXT, message TEXT NOT NULL);
    `);
    const v = `(${Array(COLS).fill('?').join(',')})`;
    const cols = `(${IMPORT_COLUMNS.join(', ')})`;
    this.insertMany = this.db.prepare(`INSERT INTO temp.imp ${cols} VALUES ${Array(BATCH).fill(v).join(',')}`);
    this.insertOne = this.db.prepare(`INSERT INTO temp.imp ${cols} VALUES ${v}`);
  }

  async end(): Promise<void> {
    this.dropStage();
  }

  private dropStage(): void {
    this.db.exec('DROP TABLE IF EXISTS temp.imp; DROP TABLE IF EXISTS temp.imp_err;');
  }

  async stage(rows: readonly ImportRow[]): Promise<void> {
    this.db.transaction(() => {
      let i = 0;
      const args: unknown[] = [];
      for (; i + BATCH <= rows.length; i += BATCH) {
        args.length = 0;
        for (let j = 0; j < BATCH; j++) args.push(...importValues(rows[i + j]));
        this.insertMany.run(args);
      }
      for (; i < rows.length; i++) this.insertOne.run(importValues(rows[i]));
    })();
  }

  protected async all(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return this.store.prepare(sql).all(...params) as Record<string, unknown>[];
  }

  protected async run(sql: string, params: unknown[] = []): Promise<number> {
    return this.store.prepare(sql).run(...params).changes;
  }

  protected async transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.store.writeAsync(fn);
  }

  protected async analyze(): Promise<void> {}

  protected now(): string {
    return this.store.now();
  }
}
