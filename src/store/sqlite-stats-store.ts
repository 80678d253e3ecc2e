/**
 * The SQLite {@link StatsStore}: aggregate queries over the `channel_calls` table (the fields of
 * `channel.call` events, kept by a trigger; migration 3) and over orders and refunds, served by
 * the indexes of that migration. Prepared statements only.
 */
import type { SqliteStore } from './sqlite-store.js';
import { FAILURE_CODES, type AmountGroup, type CallGroup, type ChannelHealth, type ErrorCount, type LatencyCount, type StatsRange, type StatsStore } from './stats-store.js';

/** Constants, not user input. */
const FAILURE_SQL = FAILURE_CODES.map((c) => `'${c}'`).join(', ');
/** Far enough past any timestamp (ISO strings compare in time order). */
const END = '9999-12-31T23:59:59.999Z';

function bucketSql(column: string, by: StatsRange['by']): string {
  return by === 'hour' ? `substr(${column}, 1, 13)` : by === 'day' ? `substr(${column}, 1, 10)` : 'NULL';
}

function where(column: string, range: StatsRange): { sql: string; args: unknown[] } {
  const args: unknown[] = [range.since ?? '', range.until ?? END];
  let sql = `${column} >= ? AND ${column} < ?`;
  if (range.channel) {
    sql += ' AND channel = ?';
    args.push(range.channel);
  }
  return { sql, args };
}

type Row = Record<string, unknown>;
const text = (v: unknown) => (v == null ? '' : String(v));

/** Statistics over a {@link SqliteStore}. */
export class SqliteStatsStore implements StatsStore {
  constructor(private readonly store: SqliteStore) {}

  async channelHealth(channels: readonly string[], since: string, until = END): Promise<Map<string, ChannelHealth>> {
    const out = new Map<string, ChannelHealth>();
    const stmt = this.store.prepare(
      `SELECT COUNT(*) AS calls, COALESCE(SUM(error_code IN (${FAILURE_SQL})), 0) AS failures FROM channel_calls WHERE channel = ? AND at >= ? AND at < ?`,
    );
    for (const channel of channels) {
      const r = stmt.get(channel, since, until) as { calls: number; failures: number };
      if (r.calls > 0) out.set(channel, { calls: r.calls, failures: r.failures });
    }
    return out;
  }

  async callGroups(range: StatsRange): Promise<CallGroup[]> {
    const w = where('at', range);
    const rows = this.store
      .prepare(
        `SELECT channel, operation, ${bucketSql('at', range.by)} AS bucket, COUNT(*) AS calls, COUNT(error_code) AS errors, COALESCE(SUM(error_code IN (${FAILURE_SQL})), 0) AS failures
         FROM channel_calls WHERE ${w.sql} GROUP BY channel, operation${range.by ? ', 3' : ''}`,
      )
      .all(...w.args) as Row[];
    return rows.map((r) => ({
      channel: text(r.channel),
      operation: text(r.operation),
      ...(r.bucket != null ? { bucket: String(r.bucket) } : {}),
      calls: r.calls as number,
      errors: r.errors as number,
      failures: r.failures as number,
    }));
  }

  async errorCodes(range: StatsRange, limit: number): Promise<ErrorCount[]> {
    const w = where('at', range);
    const rows = this.store
      .prepare(`SELECT channel, operation, error_code AS code, COUNT(*) AS n FROM channel_calls WHERE ${w.sql} AND error_code IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3`)
      .all(...w.args) as Row[];
    const kept = new Map<string, number>();
    const out: ErrorCount[] = [];
    for (const r of rows) {
      const key = `${text(r.channel)}\n${text(r.operation)}`;
      const n = kept.get(key) ?? 0;
      if (n >= limit) continue;
      kept.set(key, n + 1);
      out.push({ channel: text(r.channel), operation: text(r.operation), code: String(r.code), count: r.n as number });
    }
    return out;
  }

  async callLatencies(range: StatsRange): Promise<LatencyCount[]> {
    const w = where('at', range);
    const rows = this.store
      .prepare(
        `SELECT channel, operation, ${bucketSql('at', range.by)} AS bucket, duration_ms AS ms, COUNT(*) AS n
         FROM channel_calls WHERE ${w.sql} AND duration_ms IS NOT NULL GROUP BY channel, operation, ${range.by ? '3, ' : ''}duration_ms`,
      )
      .raw(true)
      .all(...w.args) as unknown[][];
    return rows.map((r) => ({ channel: text(r[0]), operation: text(r[1]), ...(r[2] != null ? { bucket: String(r[2]) } : {}), ms: r[3] as number, count: r[4] as number }));
  }

  async amounts(range: StatsRange): Promise<AmountGroup[]> {
    const groups = new Map<string, AmountGroup>();
    const add = (kind: AmountGroup['kind'], r: Row, paid: boolean) => {
      const bucket = r.bucket == null ? undefined : String(r.bucket);
      const key = `${kind}\n${text(r.channel)}\n${text(r.currency)}\n${bucket ?? ''}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { channel: text(r.channel), currency: text(r.currency), kind, ...(bucket ? { bucket } : {}), count: 0, paidCount: 0, paidMinor: 0, byStatus: {} }));
      const n = r.n as number;
      g.count += n;
      g.byStatus[String(r.status)] = (g.byStatus[String(r.status)] ?? 0) + n;
      if (paid) {
        g.paidCount += n;
        g.paidMinor += r.total as number;
      }
    };
    const w = where('created_at', range);
    const orders = this.store
      .prepare(
        `SELECT kind, channel, currency, ${bucketSql('created_at', range.by)} AS bucket, status, COUNT(*) AS n, SUM(amount_minor) AS total
         FROM orders WHERE ${w.sql} GROUP BY channel, currency, kind, status${range.by ? ', 4' : ''}`,
      )
      .all(...w.args) as Row[];
    for (const r of orders) add(r.kind as 'collect' | 'payout', r, r.status === 'succeeded' || r.status === 'refunded');
    const refunds = this.store
      .prepare(
        `SELECT channel, currency, ${bucketSql('created_at', range.by)} AS bucket, status, COUNT(*) AS n, SUM(amount_minor) AS total
         FROM refunds WHERE ${w.sql} GROUP BY channel, currency, status${range.by ? ', 3' : ''}`,
      )
      .all(...w.args) as Row[];
    for (const r of refunds) add('refund', r, r.status === 'succeeded');
    return [...groups.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.kind.localeCompare(b.kind) || a.currency.localeCompare(b.currency) || (a.bucket ?? '').localeCompare(b.bucket ?? ''));
  }
}
