/**
 * `pay stats`: channel health from the order book and the event log. Per channel and operation:
 * calls, success rate, the most frequent error codes and the latency percentiles of the channel
 * calls (`channel.call` events' `durationMs`); amounts by currency from orders and refunds. With
 * `--by hour|day`, a time series per row. `--alert` takes loadtest's threshold expressions
 * (`success_rate<0.95`, `p99>2s`, `errors>5%`); an alert *fires* when its expression holds for a
 * row, and any firing alert exits 1 with the rows that breached.
 *
 * {@link buildStats} returns the figures as plain JSON-able data, for reports built on them.
 */
import { invalid } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { isoUtc, parseInstant } from '../core/time.js';
import { LatencyHistogram } from '../loadtest/histogram.js';
import { evaluateThreshold, parseThreshold, type MetricSource, type Threshold } from '../loadtest/thresholds.js';
import { csvLine } from '../output/csv.js';
import { percent as pct, type Block, type Presentation } from '../output/render.js';
import type { StatsBucket, StatsRange, StatsStore } from '../store/stats-store.js';
import type { Context } from './context.js';

/** Latency figures of a set of calls, ms. */
export interface LatencyFigures {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** One point of a row's series. */
export interface StatsPoint extends LatencyFigures {
  /** `2026-12-04T14` (hour) or `2026-12-04` (day), UTC. */
  bucket: string;
  calls: number;
  failures: number;
  successRate: number;
}

/** Figures of one channel and operation. */
export interface StatsRow extends LatencyFigures {
  channel: string;
  operation: string;
  calls: number;
  /** Calls that raised any error (business refusals included). */
  errors: number;
  /** Calls the channel could not answer (store/stats-store FAILURE_CODES). */
  failures: number;
  /** (calls - failures) / calls. */
  successRate: number;
  /** Most frequent error codes. */
  topErrors: { code: string; count: number }[];
  /** With --by: one point per bucket that had calls, oldest first. */
  series?: StatsPoint[];
}

/** Orders or refunds of one channel and currency. */
export interface AmountRow {
  channel: string;
  kind: 'collect' | 'payout' | 'refund';
  currency: string;
  count: number;
  paidCount: number;
  paidAmount: string;
  paidMinor: number;
  byStatus: Record<string, number>;
  /** With --by: per bucket. */
  series?: { bucket: string; count: number; paidCount: number; paidAmount: string; paidMinor: number }[];
}

/** Everything `pay stats` reports (JSON-able). */
export interface StatsData {
  since: string | null;
  until: string | null;
  by: StatsBucket | null;
  channel: string | null;
  rows: StatsRow[];
  amounts: AmountRow[];
}

/** Options of {@link buildStats}. */
export interface BuildStatsOptions extends StatsRange {
  /** Error codes kept per row (default 3). */
  top?: number;
}

function latency(h: LatencyHistogram): LatencyFigures {
  return { p50: h.percentileMs(50), p95: h.percentileMs(95), p99: h.percentileMs(99), max: h.maxMs(), mean: h.meanMs() };
}

const rate = (calls: number, failures: number) => (calls ? (calls - failures) / calls : 1);

/** Computes the statistics over a store (the data `pay stats` prints; a report can be built on it). */
export async function buildStats(stats: StatsStore, options: BuildStatsOptions = {}): Promise<StatsData> {
  const range: StatsRange = { since: options.since, until: options.until, channel: options.channel, by: options.by };
  const key = (c: string, o: string) => `${c}\n${o}`;
  const rows = new Map<string, StatsRow>();
  const hist = new Map<string, LatencyHistogram>();
  const points = new Map<string, Map<string, StatsPoint & { h: LatencyHistogram }>>();
  for (const g of await stats.callGroups(range)) {
    const k = key(g.channel, g.operation);
    let row = rows.get(k);
    if (!row) rows.set(k, (row = { channel: g.channel, operation: g.operation, calls: 0, errors: 0, failures: 0, successRate: 1, topErrors: [], p50: 0, p95: 0, p99: 0, max: 0, mean: 0 }));
    row.calls += g.calls;
    row.errors += g.errors;
    row.failures += g.failures;
    if (g.bucket !== undefined) {
      let series = points.get(k);
      if (!series) points.set(k, (series = new Map()));
      series.set(g.bucket, { bucket: g.bucket, calls: g.calls, failures: g.failures, successRate: rate(g.calls, g.failures), p50: 0, p95: 0, p99: 0, max: 0, mean: 0, h: new LatencyHistogram() });
    }
  }
  for (const l of await stats.callLatencies(range)) {
    const k = key(l.channel, l.operation);
    let h = hist.get(k);
    if (!h) hist.set(k, (h = new LatencyHistogram()));
    h.recordMs(l.ms, l.count);
    if (l.bucket !== undefined) points.get(k)?.get(l.bucket)?.h.recordMs(l.ms, l.count);
  }
  for (const e of await stats.errorCodes(range, options.top ?? 3)) rows.get(key(e.channel, e.operation))?.topErrors.push({ code: e.code, count: e.count });
  for (const [k, row] of rows) {
    row.successRate = rate(row.calls, row.failures);
    const h = hist.get(k);
    if (h) Object.assign(row, latency(h));
    const series = points.get(k);
    if (series) {
      row.series = [...series.values()]
        .sort((a, b) => a.bucket.localeCompare(b.bucket))
        .map(({ h: ph, ...p }) => ({ ...p, ...latency(ph) }));
    }
  }
  const amounts = new Map<string, AmountRow>();
  for (const a of await stats.amounts(range)) {
    const k = `${a.channel}\n${a.kind}\n${a.currency}`;
    let row = amounts.get(k);
    if (!row) amounts.set(k, (row = { channel: a.channel, kind: a.kind, currency: a.currency, count: 0, paidCount: 0, paidAmount: '', paidMinor: 0, byStatus: {} }));
    row.count += a.count;
    row.paidCount += a.paidCount;
    row.paidMinor += a.paidMinor;
    for (const [s, n] of Object.entries(a.byStatus)) row.byStatus[s] = (row.byStatus[s] ?? 0) + n;
    if (a.bucket !== undefined) (row.series ??= []).push({ bucket: a.bucket, count: a.count, paidCount: a.paidCount, paidAmount: formatAmount(a.paidMinor, a.currency), paidMinor: a.paidMinor });
  }
  for (const row of amounts.values()) {
    row.paidAmount = formatAmount(row.paidMinor, row.currency);
    row.series?.sort((a, b) => a.bucket.localeCompare(b.bucket));
  }
  return {
    since: options.since ?? null,
    until: options.until ?? null,
    by: options.by ?? null,
    channel: options.channel ?? null,
    rows: [...rows.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.operation.localeCompare(b.operation)),
    amounts: [...amounts.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.kind.localeCompare(b.kind) || a.currency.localeCompare(b.currency)),
  };
}

/** CLI options of `pay stats`. */
export interface StatsOptions {
  since?: string;
  until?: string;
  by?: string;
  channel?: string;
  top?: string;
  alert?: string[];
  format?: string;
  /** Also write the figures as a self-contained HTML page. */
  report?: string;
}

/** An alert that fired on a row. */
export interface AlertBreach {
  alert: string;
  channel: string;
  operation: string;
  actual: number;
  limit: number;
  unit: string;
}

/** An alert checked on a row: fired (a breach) or not. */
export interface AlertCheck extends AlertBreach {
  fired: boolean;
}

export interface StatsResult {
  data: StatsData;
  alerts: string[];
  breaches: AlertBreach[];
  /** Every alert on every row with calls (the breaches are the fired ones). */
  checks: AlertCheck[];
  format: 'table' | 'json' | 'csv';
  /** Where --report wrote the page. */
  reportFile?: string;
}

/** The metrics of a row, as loadtest thresholds read them (`errors` is the failure rate). */
function metricSource(row: StatsRow, seconds: number | undefined): MetricSource {
  const at: Record<number, number> = { 50: row.p50, 95: row.p95, 99: row.p99, 100: row.max };
  return {
    latencyAt: (p) => {
      if (at[p] === undefined) throw invalid(`pay stats reports p50, p95, p99 and max, not p${p}`);
      return at[p];
    },
    maxMs: row.max,
    meanMs: row.mean,
    errorRate: row.calls ? row.failures / row.calls : 0,
    successRate: row.successRate,
    rps: seconds ? row.calls / seconds : 0,
  };
}

/** `pay stats`. */
export async function statsCommand(opts: StatsOptions, ctx: Context): Promise<StatsResult> {
  const since = opts.since ? isoUtc(parseInstant(opts.since, '--since')) : undefined;
  const until = opts.until ? isoUtc(parseInstant(opts.until, '--until')) : undefined;
  if (opts.by !== undefined && opts.by !== 'hour' && opts.by !== 'day') throw invalid(`--by must be hour or day (got "${opts.by}")`);
  const format = (opts.format ?? (ctx.json ? 'json' : 'table')) as StatsResult['format'];
  if (!['table', 'json', 'csv'].includes(format)) throw invalid(`--format must be table, json or csv (got "${opts.format}")`);
  const top = opts.top === undefined ? 3 : Number(opts.top);
  if (!Number.isInteger(top) || top < 0) throw invalid(`--top must be a whole number (got "${opts.top}")`);
  const thresholds: Threshold[] = (opts.alert ?? []).map((a) => parseThreshold(a));
  for (const t of thresholds) {
    if (t.relative !== undefined || t.metric.kind === 'late' || (t.metric.kind === 'percentile' && ![50, 95, 99, 100].includes(t.metric.p))) {
      throw invalid(`--alert "${t.expr}": pay stats alerts on success_rate, errors, p50, p95, p99, max, mean and rps`);
    }
  }
  // Checked before any work, like reconcile's: a bad name or an unwritable place is a usage error.
  const reportPath = opts.report === undefined ? undefined : await reportTarget(opts.report, ctx.cwd);
  const range = { since, until, by: opts.by as StatsBucket | undefined, channel: opts.channel, top };
  const store = await ctx.stats();
  const data = await buildStats(store, range);
  const seconds = since ? ((until ? Date.parse(until) : ctx.clock()) - Date.parse(since)) / 1000 : undefined;
  const checks: AlertCheck[] = [];
  for (const row of data.rows) {
    if (row.calls === 0) continue;
    for (const t of thresholds) {
      const r = evaluateThreshold(t, `${row.channel} ${row.operation}`, metricSource(row, seconds));
      // An alert names the bad condition: it fires when its expression holds.
      if (!r.note) checks.push({ alert: t.expr, channel: row.channel, operation: row.operation, actual: r.actual, limit: r.limit, unit: r.unit, fired: r.pass });
    }
  }
  const breaches: AlertBreach[] = checks.filter((c) => c.fired).map(({ fired: _, ...b }) => b);
  const result: StatsResult = { data, alerts: thresholds.map((t) => t.expr), breaches, checks, format };
  if (reportPath) {
    const { writeStatsReport } = await import('../report/stats-report.js');
    await writeStatsReport(reportPath, result, store, range, { book: ctx.dbPath, now: ctx.clock(), generatedBy: `pay at ${new Date(ctx.clock()).toISOString()}` });
    result.reportFile = reportPath;
  }
  return result;
}

/** `--report <file.html>`: the absolute path, checked for an .html name and write access. */
async function reportTarget(report: string, cwd: string): Promise<string> {
  const [{ reportKind, checkWritable }, { resolve }] = await Promise.all([import('../report/file.js'), import('node:path')]);
  reportKind(report, ['html']);
  const path = resolve(cwd, report);
  checkWritable(path);
  return path;
}

const SPARK = '▁▂▃▄▅▆▇█';

/** A sparkline of values (`▁▃█`). */
export function sparkline(values: number[]): string {
  const max = Math.max(...values, 0);
  return values.map((v) => (max === 0 ? SPARK[0] : SPARK[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
}

/** A bar of `width` cells for value/max. */
function bar(value: number, max: number, width = 12): string {
  const n = max === 0 ? 0 : Math.round((value / max) * width);
  return '█'.repeat(n) + '·'.repeat(width - n);
}

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);

/** The calls table as CSV (one row per channel and operation, and per bucket with --by). */
export function statsCsv(data: StatsData): string {
  let out = csvLine(['channel', 'operation', 'bucket', 'calls', 'errors', 'failures', 'success_rate', 'p50_ms', 'p95_ms', 'p99_ms', 'max_ms', 'top_errors']);
  for (const r of data.rows) {
    out += csvLine([r.channel, r.operation, '', r.calls, r.errors, r.failures, r.successRate.toFixed(4), r.p50, r.p95, r.p99, r.max, r.topErrors.map((e) => `${e.code}:${e.count}`).join(' ')]);
    for (const p of r.series ?? []) out += csvLine([r.channel, r.operation, p.bucket, p.calls, '', p.failures, p.successRate.toFixed(4), p.p50, p.p95, p.p99, p.max, '']);
  }
  return out;
}

export function presentStats(r: StatsResult): Presentation {
  const d = r.data;
  const exitCode = r.breaches.length ? 1 : 0;
  const json = { ...d, alerts: r.alerts, breaches: r.breaches, ...(r.reportFile ? { reportFile: r.reportFile } : {}) };
  if (r.format === 'csv') return { json, blocks: [{ kind: 'raw', text: statsCsv(d).trimEnd() }], exitCode };
  if (r.format === 'json') return { json, blocks: [{ kind: 'raw', text: JSON.stringify(json, null, 2) }], exitCode };
  const maxCalls = Math.max(0, ...d.rows.map((x) => x.calls));
  const blocks: Block[] = [];
  const scope = `${d.channel ?? 'all channels'}, ${d.since ?? 'the beginning'} to ${d.until ?? 'now'}${d.by ? `, by ${d.by}` : ''}`;
  if (d.rows.length === 0) blocks.push({ kind: 'text', tone: 'dim', text: `No channel calls in the event log (${scope}).` });
  else {
    blocks.push({
      kind: 'table',
      title: `Channel calls (${scope})`,
      columns: [
        { key: 'channel', header: 'channel' },
        { key: 'operation', header: 'operation' },
        { key: 'calls', header: 'calls', align: 'right' },
        { key: 'success', header: 'success', align: 'right' },
        { key: 'p50', header: 'p50', align: 'right' },
        { key: 'p95', header: 'p95', align: 'right' },
        { key: 'p99', header: 'p99', align: 'right' },
        { key: 'errors', header: 'top errors' },
        { key: 'trend', header: d.by ? `calls per ${d.by}` : 'calls' },
      ],
      rows: d.rows.map((x) => ({
        channel: x.channel,
        operation: x.operation,
        calls: x.calls,
        success: { text: pct(x.successRate), tone: x.successRate < 0.95 ? 'warn' : undefined },
        p50: ms(x.p50),
        p95: ms(x.p95),
        p99: ms(x.p99),
        errors: x.topErrors.map((e) => `${e.code} ${e.count}`).join(', '),
        trend: x.series ? sparkline(x.series.map((p) => p.calls)) : bar(x.calls, maxCalls),
      })),
    });
  }
  if (d.amounts.length) {
    blocks.push({
      kind: 'table',
      title: 'Amounts by currency (orders and refunds created in the range)',
      columns: [
        { key: 'channel', header: 'channel' },
        { key: 'kind', header: 'kind' },
        { key: 'currency', header: 'currency' },
        { key: 'count', header: 'count', align: 'right' },
        { key: 'paid', header: 'paid', align: 'right' },
        { key: 'amount', header: 'paid amount', align: 'right' },
      ],
      rows: d.amounts.map((a) => ({ channel: a.channel, kind: a.kind, currency: a.currency, count: a.count, paid: a.paidCount, amount: a.paidAmount })),
    });
  }
  if (r.breaches.length) {
    blocks.push({
      kind: 'table',
      title: 'Alerts firing',
      columns: [
        { key: 'alert', header: 'alert' },
        { key: 'channel', header: 'channel' },
        { key: 'operation', header: 'operation' },
        { key: 'actual', header: 'actual', align: 'right' },
      ],
      rows: r.breaches.map((b) => ({ alert: { text: b.alert, tone: 'error' }, channel: b.channel, operation: b.operation, actual: `${b.actual}${b.unit === '%' ? '%' : ` ${b.unit}`}` })),
    });
  } else if (r.alerts.length) blocks.push({ kind: 'text', tone: 'ok', text: `No alert fires (${r.alerts.join(', ')}).` });
  if (r.reportFile) blocks.push({ kind: 'text', tone: 'dim', text: `Report written to ${r.reportFile}.` });
  return { json, blocks, exitCode };
}
