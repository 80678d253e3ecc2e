/**
 * The SQLite {@link StatsStore}: aggregate queries over the order store's connection, served by
 * the indexes of migration 3 (channel calls by time with their JSON fields indexed, by channel and
 * time for the health check; orders and refunds by creation time). Prepared statements only.
 */
import type { SqliteStore } from './sqlite-store.js';
import { FAILURE_CODES, type AmountGroup, type CallGroup, type ChannelHealth, type ErrorCount, type StatsRange, type StatsStore } from './stats-store.js';

/** Constants, not user input. */
const FAILURE_SQL = FAILURE_CODES.map((c) => `'${c}'`).join(', ');
const OP = "json_extract(data, '$.operation')";
const CODE = "json_extract(data, '$.error.code')";
const DURATION = "json_extract(data, '$.durationMs')";
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

/** Statistics over a {@link SqliteStore}. */
export class SqliteStatsStore implements StatsStore {
  constructor(private readonly store: SqliteStore) {}

  async channelHealth(channels: readonly string[], since: string, until = END): Promise<Map<string, ChannelHealth>> {
    const out = new Map<string, ChannelHealth>();
    const stmt = this.store.prepare(
      `SELECT COUNT(*) AS calls, COALESCE(SUM(${CODE} IN (${FAILURE_SQL})), 0) AS failures FROM events WHERE type = 'channel.call' AND channel = ? AND at >= ? AND at < ?`,
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
        `SELECT channel, ${OP} AS operation, ${bucketSql('at', range.by)} AS bucket, COUNT(*) AS calls, COUNT(${CODE}) AS errors, COALESCE(SUM(${CODE} IN (${FAILURE_SQL})), 0) AS failures
         FROM events WHERE type = 'channel.call' AND ${w.sql} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .all(...w.args) as Row[];
    return rows.map((r) => ({
      channel: String(r.channel ?? ''),
      operation: String(r.operation ?? ''),
      ...(r.bucket != null ? { bucket: String(r.bucket) } : {}),
      calls: r.calls as number,
      errors: r.errors as number,
      failures: r.failures as number,
    }));
  }

  async errorCodes(range: StatsRange, limit: number): Promise<ErrorCount[]> {
    const w = where('at', range);
    const rows = this.store
      .prepare(
        `SELECT channel, ${OP} AS operation, ${CODE} AS code, COUNT(*) AS n FROM events
         WHERE type = 'channel.call' AND ${w.sql} AND ${CODE} IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3`,
      )
      .all(...w.args) as Row[];
    const kept = new Map<string, number>();
    const out: ErrorCount[] = [];
    for (const r of rows) {
      const key = `${String(r.channel)}\n${String(r.operation)}`;
      const n = kept.get(key) ?? 0;
      if (n >= limit) continue;
      kept.set(key, n + 1);
      out.push({ channel: String(r.channel ?? ''), operation: String(r.operation ?? ''), code: String(r.code), count: r.n as number });
    }
    return out;
  }

  async callDurations(range: StatsRange, visit: (channel: string, operation: string, bucket: string | undefined, ms: number) => void): Promise<void> {
    const w = where('at', range);
    const stmt = this.store
      .prepare(`SELECT channel, ${OP} AS operation, ${bucketSql('at', range.by)} AS bucket, ${DURATION} AS ms FROM events WHERE type = 'channel.call' AND ${w.sql}`)
      .raw(true);
    for (const r of stmt.iterate(...w.args) as Iterable<unknown[]>) {
      if (typeof r[3] === 'number') visit(String(r[0] ?? ''), String(r[1] ?? ''), r[2] == null ? undefined : String(r[2]), r[3]);
    }
  }

  async amounts(range: StatsRange): Promise<AmountGroup[]> {
    const groups = new Map<string, AmountGroup>();
    const add = (kind: AmountGroup['kind'], r: Row, paid: boolean) => {
      const bucket = r.bucket == null ? undefined : String(r.bucket);
      const key = `${kind}\n${String(r.channel)}\n${String(r.currency)}\n${bucket ?? ''}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { channel: String(r.channel), currency: String(r.currency), kind, ...(bucket ? { bucket } : {}), count: 0, paidCount: 0, paidMinor: 0, byStatus: {} }));
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
         FROM orders WHERE ${w.sql} GROUP BY 1, 2, 3, 4, 5`,
      )
      .all(...w.args) as Row[];
    for (const r of orders) add(r.kind as 'collect' | 'payout', r, r.status === 'succeeded' || r.status === 'refunded');
    const refunds = this.store
      .prepare(
        `SELECT channel, currency, ${bucketSql('created_at', range.by)} AS bucket, status, COUNT(*) AS n, SUM(amount_minor) AS total
         FROM refunds WHERE ${w.sql} GROUP BY 1, 2, 3, 4`,
      )
      .all(...w.args) as Row[];
    for (const r of refunds) add('refund', r, r.status === 'succeeded');
    return [...groups.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.kind.localeCompare(b.kind) || a.currency.localeCompare(b.currency) || (a.bucket ?? '').localeCompare(b.bucket ?? ''));
  }
}
