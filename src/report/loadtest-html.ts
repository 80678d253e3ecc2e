/**
 * A load test as one HTML page (`pay loadtest ... --report load.html`, `pay loadtest report
 * run.json --report load.html`): throughput, p50/p99 and errors per second over the run (levels
 * one after another on one time axis), the scalability table and chart (throughput and p99
 * against concurrency), the thresholds with pass/fail, and the comparison with a baseline summary.
 * Everything comes from the summary document (`--out`), so a saved run renders the same page.
 */
import type { LevelReport, LoadtestSummary } from '../loadtest/summary.js';
import { barChart, lineChart } from './chart.js';
import { html, join, type Html } from './html.js';
import { writeReport } from './file.js';
import { int, ms, num } from './format.js';
import { fields, renderPage, section } from './page.js';
import { dataTable } from './table.js';

const pct = (f: number) => (f === 0 ? '0%' : `${(f * 100).toFixed(f < 0.001 ? 3 : 2)}%`);

/** A drain window shorter than this is folded into the second before it: a few requests over milliseconds make no rate. */
const MIN_WINDOW_SEC = 0.5;
/** Coordinate width of the full-width time charts. */
const WIDE = 1120;

/** Per-second points of every level on one time axis, and where each level starts. */
export function timeline(levels: readonly LevelReport[]) {
  const x: number[] = [];
  const rps: number[] = [];
  const errors: number[] = [];
  const p50: (number | null)[] = [];
  const p99: (number | null)[] = [];
  const markers: { x: number; label: string }[] = [];
  let offset = 0;
  for (const l of levels) {
    if (levels.length > 1) markers.push({ x: offset, label: l.label });
    const points: { t: number; span: number; requests: number; errors: number; p50: number; p99: number }[] = [];
    let prev = 0;
    for (const p of l.series ?? []) {
      const span = p.t - prev;
      prev = p.t;
      const last = points[points.length - 1];
      if (span < MIN_WINDOW_SEC && last) {
        last.t = p.t;
        last.span += span;
        last.requests += p.requests;
        last.errors += p.errors;
        if (p.requests > 0) last.p99 = Math.max(last.p99, p.p99);
      } else points.push({ t: p.t, span: span || 1, requests: p.requests, errors: p.errors, p50: p.p50, p99: p.p99 });
    }
    for (const p of points) {
      x.push(Math.round((offset + p.t) * 1000) / 1000);
      rps.push(Math.round((p.requests / p.span) * 10) / 10);
      errors.push(Math.round((p.errors / p.span) * 10) / 10);
      // A second with no completions has no latency: the line breaks instead of dropping to 0.
      p50.push(p.requests > 0 ? p.p50 : null);
      p99.push(p.requests > 0 ? p.p99 : null);
    }
    offset += Math.max(l.elapsedSec, prev);
  }
  return { x, rps, errors, p50, p99, markers };
}

function overTime(s: LoadtestSummary): Html {
  const t = timeline(s.levels);
  const xLabel = 'seconds into the run';
  const base = { x: t.x, xLabel, markers: t.markers, width: WIDE, empty: 'No per-second series in this summary.' };
  return section(
    'over-time',
    'Over time',
    html`<div>
${lineChart({ ...base, id: 'chart-rps', title: 'Requests per second', series: [{ name: 'requests/s', values: t.rps }], yLabel: 'req/s' })}
${lineChart({ ...base, id: 'chart-latency', title: 'Latency per second (ms)', series: [{ name: 'p50', values: t.p50 }, { name: 'p99', values: t.p99 }], yLabel: 'ms', yFormat: ms })}
${lineChart({ ...base, id: 'chart-errors', title: 'Errors per second', series: [{ name: 'errors/s', values: t.errors }], yLabel: 'errors/s' })}
</div>`,
    html`<p class="muted">Each point is one second of completions (the last of a level may be shorter). Latency of an open-model run counts from the intended start.${s.levels.length > 1 ? ' Dashed lines mark where each level starts (after its warm-up).' : ''}</p>`,
  );
}

function levelsTable(s: LoadtestSummary): Html {
  const open = s.levels.some((l) => l.model === 'open');
  return dataTable({
    id: 'levels-table',
    filter: false,
    columns: [
      { key: 'level', header: open ? 'rate' : 'level' },
      { key: 'requests', header: 'requests', numeric: true },
      { key: 'rps', header: 'req/s', numeric: true },
      { key: 'p50', header: 'p50 ms', numeric: true },
      { key: 'p90', header: 'p90 ms', numeric: true },
      { key: 'p99', header: 'p99 ms', numeric: true },
      { key: 'p999', header: 'p99.9 ms', numeric: true },
      { key: 'max', header: 'max ms', numeric: true },
      { key: 'errors', header: 'errors', numeric: true },
      ...(open
        ? [
            { key: 'late', header: 'started late', numeric: true },
            { key: 'notStarted', header: 'not started', numeric: true },
          ]
        : [{ key: 'efficiency', header: 'efficiency', numeric: true }]),
      { key: 'cpu', header: 'cpu µs/req', numeric: true },
    ],
    rows: s.levels.map((l) => ({
      level: { text: l.label, sort: l.concurrency ?? l.rate?.to ?? 0 },
      requests: num(l.requests, int(l.requests)),
      rps: num(l.rps, int(l.rps)),
      p50: num(l.latencyMs.p50, ms(l.latencyMs.p50)),
      p90: num(l.latencyMs.p90, ms(l.latencyMs.p90)),
      p99: num(l.latencyMs.p99, ms(l.latencyMs.p99)),
      p999: num(l.latencyMs.p99_9, ms(l.latencyMs.p99_9)),
      max: num(l.latencyMs.max, ms(l.latencyMs.max)),
      errors: { text: pct(l.errorRate), sort: l.errorRate, tone: l.errorRate > 0 ? 'error' : undefined, attrs: { count: l.errors + l.notStarted } },
      late: l.open ? num(l.open.startedLate, int(l.open.startedLate)) : '',
      notStarted: l.open ? num(l.open.notStarted, int(l.open.notStarted)) : '',
      efficiency: l.efficiency !== undefined ? num(l.efficiency, `${Math.round(l.efficiency * 100)}%`) : '',
      cpu: num(l.client.cpuUsPerRequest, l.client.cpuUsPerRequest.toFixed(1)),
    })),
  });
}

function scalability(s: LoadtestSummary): Html {
  const closed = s.levels.filter((l) => l.model === 'closed' && l.concurrency !== undefined);
  const chart =
    closed.length > 1
      ? lineChart({
          id: 'chart-scalability',
          title: 'Throughput and p99 against concurrency',
          x: closed.map((l) => String(l.concurrency)),
          xLabel: 'concurrent workers',
          series: [
            { name: 'requests/s', values: closed.map((l) => l.rps) },
            { name: 'p99 ms', values: closed.map((l) => l.latencyMs.p99), axis: 'right' },
          ],
          yLabel: 'req/s',
          rightLabel: 'p99 ms',
          rightFormat: ms,
        })
      : '';
  const errors = s.levels.flatMap((l) => Object.entries(l.errorsByCode).map(([code, t]) => ({ level: l.label, code: { text: code, tone: 'error' as const }, count: num(t.count, int(t.count)), sample: t.sample })));
  const open = s.levels.filter((l) => l.open).map((l) => {
    const o = l.open!;
    return html`<p class="${o.startedLate > 0 || o.notStarted > 0 ? 'warn' : 'muted'}">${l.label}: ${int(o.scheduled)} scheduled, ${int(o.started)} started (${int(o.startRate)}/s), ${int(o.startedLate)} started late (${int(o.lateDueToCap)} held by the in-flight cap of ${l.maxInFlight ?? '?'}), ${int(o.notStarted)} not started; start lag p99 ${ms(o.startLagMs.p99)} ms, max ${ms(o.startLagMs.max)} ms.</p>`;
  });
  return section(
    'levels',
    closed.length > 1 ? 'Scalability' : 'Results',
    chart,
    levelsTable(s),
    join(open),
    errors.length
      ? html`<h3>Errors by code</h3>${dataTable({
          id: 'errors-table',
          columns: [
            { key: 'level', header: 'level' },
            { key: 'code', header: 'code' },
            { key: 'count', header: 'count', numeric: true },
            { key: 'sample', header: 'first message', wrap: true },
          ],
          rows: errors,
        })}`
      : '',
  );
}

function thresholds(s: LoadtestSummary): Html {
  if (s.thresholds.length === 0) return section('thresholds', 'Thresholds', html`<p class="muted">No thresholds were given (--threshold).</p>`);
  const unit = (v: number, u: string) => (u === 'ms' ? `${ms(v)} ms` : u === '%' ? `${v}%` : `${int(v)} req/s`);
  return section(
    'thresholds',
    'Thresholds',
    dataTable({
      id: 'thresholds-table',
      facet: 'result',
      columns: [
        { key: 'expr', header: 'threshold', mono: true },
        { key: 'level', header: 'level' },
        { key: 'actual', header: 'actual', numeric: true },
        { key: 'limit', header: 'limit', numeric: true },
        { key: 'baseline', header: 'baseline', numeric: true },
        { key: 'result', header: 'result' },
      ],
      rows: s.thresholds.map((t) => ({
        expr: t.expr,
        level: t.level,
        actual: t.note ? '' : num(t.actual, unit(t.actual, t.unit)),
        limit: t.note ? t.note : num(t.limit, unit(t.limit, t.unit)),
        baseline: t.baseline !== undefined ? num(t.baseline, unit(t.baseline, t.unit)) : '',
        result: t.pass ? { text: 'pass', tone: 'ok' } : { text: 'FAIL', tone: 'error' },
      })),
    }),
  );
}

/** Metrics compared with a baseline: name, value, whether higher is better. */
const COMPARED: [string, (l: LevelReport) => number, (v: number) => string, boolean][] = [
  ['req/s', (l) => l.rps, int, true],
  ['p50 ms', (l) => l.latencyMs.p50, ms, false],
  ['p90 ms', (l) => l.latencyMs.p90, ms, false],
  ['p99 ms', (l) => l.latencyMs.p99, ms, false],
  ['p99.9 ms', (l) => l.latencyMs.p99_9, ms, false],
  ['max ms', (l) => l.latencyMs.max, ms, false],
  ['errors', (l) => l.errorRate, pct, false],
];

function comparison(s: LoadtestSummary, baseline: LoadtestSummary | undefined): Html {
  if (!baseline) return html``;
  const pairs = s.levels.map((l) => [l, baseline.levels.find((b) => b.key === l.key)] as const).filter((p): p is readonly [LevelReport, LevelReport] => p[1] !== undefined);
  const rows = pairs.flatMap(([l, b]) =>
    COMPARED.map(([name, get, fmt, higherBetter]) => {
      const now = get(l);
      const was = get(b);
      const change = was === 0 ? (now === 0 ? 0 : Infinity) : (now - was) / was;
      const better = change === 0 ? undefined : higherBetter === change > 0;
      return {
        level: l.label,
        metric: name,
        baseline: num(was, fmt(was)),
        run: num(now, fmt(now)),
        change: { text: Number.isFinite(change) ? `${change > 0 ? '+' : ''}${(change * 100).toFixed(1)}%` : 'new', sort: Number.isFinite(change) ? change : 1e9, tone: better === undefined || Math.abs(change) < 0.005 ? undefined : better ? ('ok' as const) : ('error' as const) },
      };
    }),
  );
  const labels = pairs.map(([l]) => l.label);
  return section(
    'baseline',
    'Against the baseline',
    html`<p class="muted">Baseline run of ${baseline.startedAt} (${String(baseline.target.description ?? '')}). Levels are compared like with like (same workers or rate).</p>`,
    html`<div class="charts">
${barChart({ id: 'chart-baseline-rps', width: 560, title: 'Requests per second', categories: labels, series: [{ name: 'baseline', values: pairs.map(([, b]) => b.rps) }, { name: 'this run', values: pairs.map(([l]) => l.rps) }] })}
${barChart({ id: 'chart-baseline-p99', width: 560, title: 'p99 latency (ms)', categories: labels, series: [{ name: 'baseline', values: pairs.map(([, b]) => b.latencyMs.p99) }, { name: 'this run', values: pairs.map(([l]) => l.latencyMs.p99) }], yFormat: ms })}
</div>`,
    dataTable({
      id: 'baseline-table',
      facet: 'level',
      columns: [
        { key: 'level', header: 'level' },
        { key: 'metric', header: 'metric' },
        { key: 'baseline', header: 'baseline', numeric: true },
        { key: 'run', header: 'this run', numeric: true },
        { key: 'change', header: 'change', numeric: true },
      ],
      rows,
      empty: 'The baseline has none of these levels.',
    }),
  );
}

/** The report page. */
export function loadtestHtml(s: LoadtestSummary, baseline: LoadtestSummary | undefined, generatedBy: string): string {
  const cfg = s.config as { model?: string; durationSec?: number; requests?: number; warmupSec?: number; timeoutMs?: number };
  const env = s.environment as { node?: string; cpus?: number; cpuModel?: string; platform?: string; arch?: string; loadAverage?: number[]; pay?: string };
  const bound = cfg.durationSec !== undefined ? `${cfg.durationSec} s` : `${int(cfg.requests ?? 0)} requests`;
  const failed = s.thresholds.filter((t) => !t.pass).length;
  const status = s.aborted
    ? { tone: 'error' as const, text: `Stopped early during ${s.aborted.level}: ${s.aborted.reason}` }
    : s.thresholds.length === 0
      ? { tone: 'warn' as const, text: 'No thresholds: nothing to pass or fail' }
      : failed === 0
        ? { tone: 'ok' as const, text: `PASS: ${s.thresholds.length} threshold result${s.thresholds.length === 1 ? '' : 's'} met` }
        : { tone: 'error' as const, text: `FAIL: ${failed} of ${s.thresholds.length} threshold results breached` };
  const header = fields([
    ['target', String(s.target.description ?? '')],
    ['model', cfg.model === 'closed' ? `closed: ${s.levels.map((l) => l.label).join(', ')}, ${bound} per level` : `open: ${s.levels.map((l) => l.label).join(', ')}, ${bound}`],
    ['warm-up, timeout', `${cfg.warmupSec ?? 0} s, ${(cfg.timeoutMs ?? 0) / 1000} s`],
    ['run', `${s.startedAt} to ${s.finishedAt}`],
    ['machine', `${env.cpus ?? '?'} × ${env.cpuModel ?? 'cpu'}, ${env.platform ?? ''}/${env.arch ?? ''}, load average ${(env.loadAverage ?? []).join(' ')}`],
    ['runtime', `pay ${env.pay ?? ''}, Node ${env.node ?? ''}`],
    ...(baseline ? [['baseline', `run of ${baseline.startedAt}`] as [string, string]] : []),
  ]);
  return renderPage({
    title: `Load test: ${String(s.target.description ?? 'target')}`,
    subtitle: `${s.levels.length} level${s.levels.length === 1 ? '' : 's'} · ${int(s.levels.reduce((n, l) => n + l.requests, 0))} requests · ${s.startedAt.slice(0, 19).replace('T', ' ')} UTC`,
    status,
    body: [section('run', 'Run', header), overTime(s), scalability(s), thresholds(s), comparison(s, baseline)],
    footer: `Written by ${generatedBy} from a ${s.format} document (version ${s.version}); the page loads nothing from the network.`,
  });
}

/** Writes the page to `path`. */
export function writeLoadtestReport(path: string, s: LoadtestSummary, baseline: LoadtestSummary | undefined, generatedBy: string): void {
  writeReport(path, loadtestHtml(s, baseline, generatedBy));
}
