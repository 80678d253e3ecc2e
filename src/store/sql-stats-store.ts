/**
 * The {@link StatsStore} queries, in SQL both SQLite and PostgreSQL run as written (`?`
 * placeholders; the `channel_calls` table of migration 4 and its indexes are the same on both,
 * text compared byte-wise, NULLs ordered first as SQLite does). Aggregate queries over the
 * channel calls and over orders and refunds; a backend supplies how to run one.
 */
import { FAILURE_CODES, type AmountGroup, type CallGroup, type ChannelHealth, type ErrorCount, type LatencyCount, type StatsRange, type StatsStore } from './stats-store.js';

/** Constants, not user input. */
const FAILURE_SQL = FAILURE_CODES.map((c) => `'${c}'`).join(', ');
/** Calls whose error says the channel gave no answer. */
const FAILURES = `COUNT(CASE WHEN error_code IN (${FAILURE_SQL}) THEN 1 END)`;
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

/**
 * GROUP BY `keys` (columns, or result positions), ordered by the same keys with NULLs first on
 * every backend; SQLite already returns groups in that order, so this costs it no sort.
 */
function grouped(keys: (string | false | undefined)[]): string {
  const k = keys.filter((x): x is string => Boolean(x));
  return `GROUP BY ${k.join(', ')} ORDER BY ${k.map((x) => `${x} NULLS FIRST`).join(', ')}`;
}

export type Row = Record<string, unknown>;
const text = (v: unknown) => (v == null ? '' : String(v));

/** Statistics over the tables of an order book; subclasses run the SQL. */
export abstract class SqlStatsStore implements StatsStore {
  /** Rows of one query (`?` placeholders); counts and sums as numbers. */
  protected abstract all(sql: string, args: unknown[]): Promise<Row[]>;

  async channelHealth(channels: readonly string[], since: string, until = END): Promise<Map<string, ChannelHealth>> {
    const out = new Map<string, ChannelHealth>();
    const sql = `SELECT COUNT(*) AS calls, ${FAILURES} AS failures FROM channel_calls WHERE channel = ? AND at >= ? AND at < ?`;
    for (const channel of channels) {
      const [r] = (await this.all(sql, [channel, since, until])) as { calls: number; failures: number }[];
      if (r.calls > 0) out.set(channel, { calls: r.calls, failures: r.failures });
    }
    return out;
  }

  async callGroups(range: StatsRange): Promise<CallGroup[]> {
    const w = where('at', range);
    const rows = await this.all(
      `SELECT channel, operation, ${bucketSql('at', range.by)} AS bucket, COUNT(*) AS calls, COUNT(error_code) AS errors, ${FAILURES} AS failures
       FROM channel_calls WHERE ${w.sql} ${grouped(['channel', 'operation', range.by && '3'])}`,
      w.args,
    );
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
    const rows = await this.all(
      `SELECT channel, operation, error_code AS code, COUNT(*) AS n FROM channel_calls WHERE ${w.sql} AND error_code IS NOT NULL
       GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3, 1 NULLS FIRST, 2 NULLS FIRST`,
      w.args,
    );
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
    const rows = await this.all(
      `SELECT channel, operation, ${bucketSql('at', range.by)} AS bucket, duration_ms AS ms, COUNT(*) AS n
       FROM channel_calls WHERE ${w.sql} AND duration_ms IS NOT NULL ${grouped(['channel', 'operation', range.by && '3', 'duration_ms'])}`,
      w.args,
    );
    return rows.map((r) => ({ channel: text(r.channel), operation: text(r.operation), ...(r.bucket != null ? { bucket: String(r.bucket) } : {}), ms: r.ms as number, count: r.n as number }));
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
    const orders = await this.all(
      `SELECT channel, currency, kind, status, ${bucketSql('created_at', range.by)} AS bucket, COUNT(*) AS n, SUM(amount_minor) AS total
       FROM orders WHERE ${w.sql} ${grouped(['channel', 'currency', 'kind', 'status', range.by && '5'])}`,
      w.args,
    );
    for (const r of orders) add(r.kind as 'collect' | 'payout', r, r.status === 'succeeded' || r.status === 'refunded');
    const refunds = await this.all(
      `SELECT channel, currency, status, ${bucketSql('created_at', range.by)} AS bucket, COUNT(*) AS n, SUM(amount_minor) AS total
       FROM refunds WHERE ${w.sql} ${grouped(['channel', 'currency', 'status', range.by && '4'])}`,
      w.args,
    );
    for (const r of refunds) add('refund', r, r.status === 'succeeded');
    return [...groups.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.kind.localeCompare(b.kind) || a.currency.localeCompare(b.currency) || (a.bucket ?? '').localeCompare(b.bucket ?? ''));
  }
}
