/**
 * Channel health as one HTML page (`pay stats ... --report health.html`): the book, window and
 * grouping; per channel and operation the calls, success rate, latency percentiles and top error
 * codes (a sortable, filterable table); amounts by currency; the success rate per channel and
 * p50/p99 per channel and operation over time (charts); the alerts with pass or fail.
 *
 * Everything comes from {@link StatsData} (what `pay stats --json` prints) plus a series of the same
 * figures by hour or day, so the page and the JSON agree.
 */
import type { AlertCheck, StatsData, StatsRow } from '../commands/stats.js';
import type { StatsBucket } from '../store/stats-store.js';
import { lineChart, type ChartSeries } from './chart.js';
import { int, ms, num } from './format.js';
import { groupDigits, html, type Html } from './html.js';
import { fields, renderPage, section } from './page.js';
import { dataTable } from './table.js';

/** Windows up to this long are charted by hour when no --by is given, longer ones by day. */
export const HOURLY_UP_TO_MS = 3 * 24 * 3_600_000;

/** Everything the page shows. */
export interface StatsReport {
  /** Totals (no series needed) as `pay stats` computed them. */
  data: StatsData;
  /** The same figures with a series per row (the --by data, or the report's default bucket). */
  series: StatsData;
  /** The grouping of `series`, and whether it was chosen by the report (no --by). */
  by: StatsBucket;
  byDefault: boolean;
  /** The book's location, password masked. */
  book: string;
  alerts: string[];
  checks: AlertCheck[];
  generatedBy: string;
}

/** The bucket to chart a window in when no --by was given: by hour up to 3 days, else by day. */
export function defaultBucket(fromMs: number, toMs: number): StatsBucket {
  return toMs - fromMs <= HOURLY_UP_TO_MS ? 'hour' : 'day';
}

/** Epoch ms of a bucket (`2026-12-04T14` or `2026-12-04`, UTC). */
export function bucketTime(bucket: string): number {
  return Date.parse(bucket.length > 10 ? `${bucket}:00:00Z` : `${bucket}T00:00:00Z`);
}

const pct = (f: number) => `${(f * 100).toFixed(f === 1 || f === 0 ? 0 : 2)}%`;
const rowName = (r: { channel: string; operation: string }) => `${r.channel} ${r.operation}`;

/** Most buckets an axis is filled to; a longer sparse series keeps only the buckets with calls. */
const MAX_FILLED = 5000;

/** Every hour or day from the first bucket to the last (widened to the window's `since`..`until` when given), so a line breaks where nothing was called. */
export function everyBucket(sorted: string[], window: { since?: string | null; until?: string | null } = {}): string[] {
  if (sorted.length === 0) return sorted;
  const hourly = sorted[0].length > 10;
  const step = hourly ? 3_600_000 : 24 * 3_600_000;
  const floor = (t: number) => Math.floor(t / step) * step;
  let first = bucketTime(sorted[0]);
  let last = bucketTime(sorted[sorted.length - 1]);
  if (window.since) first = Math.min(first, floor(Date.parse(window.since)));
  // --until is exclusive: its bucket counts only when the window reaches into it.
  if (window.until) last = Math.max(last, floor(Date.parse(window.until) - 1));
  const n = (last - first) / step + 1;
  if (n > MAX_FILLED) return sorted;
  return Array.from({ length: n }, (_, i) => new Date(first + i * step).toISOString().slice(0, hourly ? 13 : 10));
}

/** The x axis (every bucket of any row) and per-row values on it (null where a row had no calls). */
export function healthSeries(series: StatsData) {
  const buckets = everyBucket([...new Set(series.rows.flatMap((r) => (r.series ?? []).map((p) => p.bucket)))].sort(), series);
  const at = (r: StatsRow) => new Map((r.series ?? []).map((p) => [p.bucket, p]));
  const channels = [...new Set(series.rows.map((r) => r.channel))];
  // Success rate per channel: calls and failures add up across operations.
  const success: ChartSeries[] = channels.map((c) => {
    const rows = series.rows.filter((r) => r.channel === c).map(at);
    return {
      name: c,
      values: buckets.map((b) => {
        let calls = 0;
        let failures = 0;
        for (const m of rows) (calls += m.get(b)?.calls ?? 0), (failures += m.get(b)?.failures ?? 0);
        return calls ? Math.round(((calls - failures) / calls) * 10000) / 100 : null;
      }),
    };
  });
  // Percentiles do not add up across operations: one line per channel and operation.
  const latency = (key: 'p50' | 'p99'): ChartSeries[] =>
    series.rows.map((r) => {
      const m = at(r);
      return { name: rowName(r), values: buckets.map((b) => m.get(b)?.[key] ?? null) };
    });
  return { x: buckets.map(bucketTime), buckets, success, p50: latency('p50'), p99: latency('p99') };
}

function header(r: StatsReport): Html {
  const d = r.data;
  const window = `${d.since ?? 'the first event'} to ${d.until ?? 'now'}`;
  const grouping = r.byDefault
    ? `by ${r.by} (the report's default for a window ${r.by === 'hour' ? 'up to' : 'over'} 3 days; choose with --by hour|day)`
    : `by ${r.by} (--by ${r.by})`;
  return section(
    'scope',
    'Scope',
    fields([
      ['order book', html`<span class="mono">${r.book}</span>`],
      ['window', window],
      ['channel', d.channel ?? 'all channels'],
      ['grouping', grouping],
    ]),
  );
}

function callsTable(d: StatsData): Html {
  const totalCalls = d.rows.reduce((n, x) => n + x.calls, 0);
  const totalFailures = d.rows.reduce((n, x) => n + x.failures, 0);
  return section(
    'calls',
    'Channel calls',
    html`<p class="muted" id="calls-total">${int(totalCalls)} calls, ${int(totalFailures)} without an answer (success rate ${pct(totalCalls ? (totalCalls - totalFailures) / totalCalls : 1)}). A business refusal (e.g. INVALID_REQUEST) is an answer: it is listed among the errors but counts as a success.</p>`,
    dataTable({
      id: 'calls-table',
      facet: 'channel',
      filter: true,
      empty: 'No channel calls in the event log for this window.',
      columns: [
        { key: 'channel', header: 'channel' },
        { key: 'operation', header: 'operation', mono: true },
        { key: 'calls', header: 'calls', numeric: true },
        { key: 'errors', header: 'errors', numeric: true },
        { key: 'failures', header: 'failures', numeric: true },
        { key: 'success', header: 'success rate', numeric: true },
        { key: 'p50', header: 'p50 ms', numeric: true },
        { key: 'p95', header: 'p95 ms', numeric: true },
        { key: 'p99', header: 'p99 ms', numeric: true },
        { key: 'max', header: 'max ms', numeric: true },
        { key: 'top', header: 'top error codes', wrap: true },
      ],
      rows: d.rows.map((x) => ({
        channel: x.channel,
        operation: x.operation,
        calls: num(x.calls, int(x.calls)),
        errors: num(x.errors, int(x.errors)),
        failures: num(x.failures, int(x.failures)),
        success: { text: pct(x.successRate), sort: x.successRate, tone: x.successRate < 0.95 ? 'warn' : undefined },
        p50: num(x.p50, ms(x.p50)),
        p95: num(x.p95, ms(x.p95)),
        p99: num(x.p99, ms(x.p99)),
        max: num(x.max, ms(x.max)),
        top: x.topErrors.map((e) => `${e.code} ${e.count}`).join(', '),
      })),
    }),
  );
}

function amountsTable(d: StatsData): Html {
  return section(
    'amounts',
    'Amounts by currency',
    html`<p class="muted">Orders and refunds created in the window; paid: succeeded.</p>`,
    dataTable({
      id: 'amounts-table',
      facet: 'channel',
      filter: true,
      empty: 'No orders or refunds in this window.',
      columns: [
        { key: 'channel', header: 'channel' },
        { key: 'kind', header: 'kind' },
        { key: 'currency', header: 'currency' },
        { key: 'count', header: 'count', numeric: true },
        { key: 'paid', header: 'paid', numeric: true },
        { key: 'amount', header: 'paid amount', numeric: true },
        { key: 'statuses', header: 'by status' },
      ],
      rows: d.amounts.map((a) => ({
        channel: a.channel,
        kind: a.kind,
        currency: a.currency,
        count: num(a.count, int(a.count)),
        paid: num(a.paidCount, int(a.paidCount)),
        amount: { text: `${groupDigits(a.paidAmount)} ${a.currency}`, sort: a.paidMinor },
        statuses: Object.entries(a.byStatus)
          .map(([s, n]) => `${s} ${n}`)
          .join(', '),
      })),
    }),
  );
}

function overTime(r: StatsReport): Html {
  const s = healthSeries(r.series);
  // Hours on a time axis (ticks on round hours, or days over a long window); days as dates, one
  // category each (the axis holds every day of the window, so they are evenly spaced in time too).
  const x = r.by === 'day' ? { x: s.buckets } : { x: s.x, xTime: true };
  const base = { ...x, width: 1120, empty: 'No channel calls to chart.' };
  return section(
    'over-time',
    'Over time',
    html`<div>
${lineChart({ ...base, id: 'chart-success', title: `Success rate per channel, by ${r.by} (%)`, series: s.success, yLabel: '%', yFormat: (v) => `${+v.toFixed(2)}` })}
${lineChart({ ...base, id: 'chart-p50', title: `p50 latency per channel and operation, by ${r.by} (ms)`, series: s.p50, yLabel: 'ms', yFormat: ms })}
${lineChart({ ...base, id: 'chart-p99', title: `p99 latency per channel and operation, by ${r.by} (ms)`, series: s.p99, yLabel: 'ms', yFormat: ms })}
</div>`,
    html`<p class="muted">Each point is one ${r.by} (UTC) that had calls; a line breaks over ${r.by}s without any. Percentiles are per operation, since they do not add up across operations.</p>`,
  );
}

function alertsSection(r: StatsReport): Html {
  if (r.alerts.length === 0) return section('alerts', 'Alerts', html`<p class="muted">No alerts were given (--alert).</p>`);
  const unit = (v: number, u: string) => (u === 'ms' ? `${ms(v)} ms` : u === '%' ? `${+v.toFixed(3)}%` : `${+v.toFixed(3)} ${u}`);
  return section(
    'alerts',
    'Alerts',
    html`<p class="muted">An alert names a bad condition: it fails for a row when its expression holds there. Rows without calls are not checked.</p>`,
    dataTable({
      id: 'alerts-table',
      facet: 'result',
      filter: true,
      empty: 'No rows to check.',
      columns: [
        { key: 'alert', header: 'alert', mono: true },
        { key: 'channel', header: 'channel' },
        { key: 'operation', header: 'operation', mono: true },
        { key: 'actual', header: 'actual', numeric: true },
        { key: 'limit', header: 'limit', numeric: true },
        { key: 'result', header: 'result' },
      ],
      rows: r.checks.map((c) => ({
        alert: c.alert,
        channel: c.channel,
        operation: c.operation,
        actual: num(c.actual, unit(c.actual, c.unit)),
        limit: num(c.limit, unit(c.limit, c.unit)),
        result: c.fired ? { text: 'FAIL', tone: 'error' } : { text: 'pass', tone: 'ok' },
      })),
    }),
  );
}

/** The report page. */
export function statsHtml(r: StatsReport): string {
  const d = r.data;
  const fired = r.checks.filter((c) => c.fired).length;
  const status =
    r.alerts.length === 0
      ? undefined
      : fired === 0
        ? { tone: 'ok' as const, text: `PASS: no alert fires (${r.alerts.length} alert${r.alerts.length === 1 ? '' : 's'}, ${r.checks.length} checks)` }
        : { tone: 'error' as const, text: `FAIL: ${fired} of ${r.checks.length} alert checks fire` };
  const calls = d.rows.reduce((n, x) => n + x.calls, 0);
  return renderPage({
    title: `Channel health: ${d.channel ?? 'all channels'}`,
    subtitle: `${int(calls)} calls · ${d.since ?? 'the first event'} to ${d.until ?? 'now'} · by ${r.by}`,
    status,
    body: [header(r), callsTable(d), overTime(r), amountsTable(d), alertsSection(r)],
    footer: `Written by ${r.generatedBy} from the order book's event log, orders and refunds; the page loads nothing from the network.`,
  });
}
