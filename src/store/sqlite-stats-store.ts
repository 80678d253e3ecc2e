/**
 * The SQLite {@link StatsStore}: the shared queries (sql-stats-store.ts) over the `channel_calls`
 * table (kept by a trigger; migration 4) and over orders and refunds, as prepared statements.
 */
import type { SqliteStore } from './sqlite-store.js';
import { SqlStatsStore, type Row } from './sql-stats-store.js';

/** Statistics over a {@link SqliteStore}. */
export class SqliteStatsStore extends SqlStatsStore {
  constructor(private readonly store: SqliteStore) {
    super();
  }

  protected async all(sql: string, args: unknown[]): Promise<Row[]> {
    return this.store.prepare(sql).all(...args) as Row[];
  }
}
