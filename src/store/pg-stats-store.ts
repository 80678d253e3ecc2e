/**
 * The PostgreSQL {@link StatsStore}: the shared queries (sql-stats-store.ts) over the
 * `channel_calls` table (kept by a plpgsql trigger; migration 4) and over orders and refunds, on
 * the book's pool. COUNT and SUM come back as BIGINT and NUMERIC, which the pool parses into
 * numbers (pg-db.ts); durations are DOUBLE PRECISION, numbers already.
 */
import { numbered, type PgDb } from './pg-db.js';
import { SqlStatsStore, type Row } from './sql-stats-store.js';

/** Statistics over a PostgreSQL order book. */
export class PgStatsStore extends SqlStatsStore {
  constructor(private readonly db: PgDb) {
    super();
  }

  protected async all(sql: string, args: unknown[]): Promise<Row[]> {
    return this.db.query(numbered(sql), args);
  }
}
