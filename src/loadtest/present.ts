/**
 * What `pay loadtest` prints: the level table, open-model lateness, errors by code, thresholds
 * and the verdict; `--json` is the summary itself.
 */
import type { Block, Cell, Presentation } from '../output/render.js';
import type { LoadtestSummary } from './summary.js';

/** Whole numbers with thousands separators. */
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en');

/** Formats ms for tables: 3 significant figures, µs precision at most. */
function ms(v: number): string {
  if (v >= 100) return `${Math.round(v)}`;
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function pct(fraction: number): string {
  return fraction === 0 ? '0' : `${(fraction * 100).toFixed(fraction < 0.001 ? 3 : 2)}%`;
}

/** Human and JSON output. Exit 1 when a threshold is breached or the run stopped early. */
export function presentLoadtest(s: LoadtestSummary, outPath?: string, reportPath?: string): Presentation {
  const blocks: Block[] = [];
  const cfg = s.config as { model: string; durationSec?: number; requests?: number; warmupSec: number };
  const bound = cfg.durationSec !== undefined ? `${cfg.durationSec} s` : `${fmtInt(cfg.requests ?? 0)} requests`;
  const model = cfg.model === 'closed' ? `closed model, ${bound} per level` : `open model, ${bound}`;
  blocks.push({ kind: 'text', text: `Load test: ${String(s.target.description)} (${model}, warm-up ${cfg.warmupSec} s)` });
  const routing = s.target.routing as { rule: number; split: Record<string, number>; fallbacks: number } | undefined;
  if (routing) {
    const total = Object.values(routing.split).reduce((a, b) => a + b, 0);
    const split = Object.entries(routing.split).map(([c, n]) => `${c} ${n} (${total ? ((n / total) * 100).toFixed(1) : '0.0'}%)`).join(', ');
    blocks.push({ kind: 'text', text: `Routing (rule ${routing.rule}), collects per channel, seeding included: ${split}; fallbacks ${routing.fallbacks}` });
  }

  const open = s.levels.some((l) => l.model === 'open');
  const columns = [
    { key: 'level', header: open ? 'rate' : 'level' },
    { key: 'requests', header: 'requests', align: 'right' as const },
    { key: 'rps', header: 'req/s', align: 'right' as const },
    { key: 'p50', header: 'p50 ms', align: 'right' as const },
    { key: 'p90', header: 'p90 ms', align: 'right' as const },
    { key: 'p99', header: 'p99 ms', align: 'right' as const },
    { key: 'p999', header: 'p99.9 ms', align: 'right' as const },
    { key: 'max', header: 'max ms', align: 'right' as const },
    { key: 'errors', header: 'errors', align: 'right' as const },
    ...(open
      ? [
          { key: 'late', header: 'late', align: 'right' as const },
          { key: 'notStarted', header: 'not started', align: 'right' as const },
        ]
      : [{ key: 'efficiency', header: 'efficiency', align: 'right' as const }]),
    { key: 'cpu', header: 'cpu µs/req', align: 'right' as const },
  ];
  blocks.push({
    kind: 'table',
    columns,
    rows: s.levels.map((l) => {
      const row: Record<string, Cell> = {
        level: l.label,
        requests: fmtInt(l.requests),
        rps: fmtInt(l.rps),
        p50: ms(l.latencyMs.p50),
        p90: ms(l.latencyMs.p90),
        p99: ms(l.latencyMs.p99),
        p999: ms(l.latencyMs.p99_9),
        max: ms(l.latencyMs.max),
        errors: l.errors + l.notStarted > 0 ? { text: pct(l.errorRate), tone: 'error' } : '0',
        cpu: l.client.cpuUsPerRequest.toFixed(1),
      };
      if (l.open) {
        row.late = l.open.startedLate > 0 ? { text: fmtInt(l.open.startedLate), tone: 'warn' } : '0';
        row.notStarted = l.open.notStarted > 0 ? { text: fmtInt(l.open.notStarted), tone: 'error' } : '0';
      } else row.efficiency = l.efficiency !== undefined ? `${Math.round(l.efficiency * 100)}%` : '';
      return row;
    }),
  });

  for (const l of s.levels) {
    if (l.open) {
      const o = l.open;
      blocks.push({
        kind: 'text',
        tone: o.startedLate > 0 || o.notStarted > 0 ? 'warn' : 'dim',
        text:
          `${l.label}: ${fmtInt(o.scheduled)} scheduled, ${fmtInt(o.started)} started (${fmtInt(o.startRate)}/s), ` +
          `${fmtInt(o.startedLate)} started late (${fmtInt(o.lateDueToCap)} held by --max-in-flight ${l.maxInFlight}), ${fmtInt(o.notStarted)} not started; ` +
          `start lag p99 ${ms(o.startLagMs.p99)} ms, max ${ms(o.startLagMs.max)} ms. Latency counts from the intended start.`,
      });
    }
    const codes = Object.entries(l.errorsByCode);
    if (codes.length > 0) {
      blocks.push({
        kind: 'table',
        title: `Errors${s.levels.length > 1 ? ` (${l.label})` : ''}`,
        columns: [
          { key: 'code', header: 'code' },
          { key: 'count', header: 'count', align: 'right' },
          { key: 'sample', header: 'first message' },
        ],
        rows: codes.map(([code, t]) => ({ code: { text: code, tone: 'error' }, count: fmtInt(t.count), sample: t.sample.length > 100 ? `${t.sample.slice(0, 100)}…` : t.sample })),
      });
    }
  }

  const busiest = s.levels.reduce((m, l) => Math.max(m, l.client.eventLoopUtilization), 0);
  // In-process targets share the loop by design; the warning is for targets across the network.
  if (busiest > 0.9 && s.target.where !== 'in-process') {
    blocks.push({ kind: 'text', tone: 'warn', text: `The generator's event loop was ${Math.round(busiest * 100)}% busy: the client, not the target, may be the limit. Compare with fewer workers or another machine.` });
  }

  if (s.thresholds.length > 0) {
    const unit = (v: number, u: string) => (u === 'ms' ? `${ms(v)} ms` : u === '%' ? `${v}%` : `${fmtInt(v)} req/s`);
    blocks.push({
      kind: 'table',
      title: 'Thresholds',
      columns: [
        { key: 'expr', header: 'threshold' },
        { key: 'level', header: 'level' },
        { key: 'actual', header: 'actual', align: 'right' },
        { key: 'limit', header: 'limit', align: 'right' },
        { key: 'result', header: 'result' },
      ],
      rows: s.thresholds.map((t) => ({
        expr: t.expr,
        level: t.level,
        actual: t.note ? '' : unit(t.actual, t.unit),
        limit: t.note ? t.note : `${unit(t.limit, t.unit)}${t.baseline !== undefined ? ` (baseline ${unit(t.baseline, t.unit)})` : ''}`,
        result: t.pass ? { text: 'pass', tone: 'ok' } : { text: 'FAIL', tone: 'error' },
      })),
    });
  }
  const failed = s.thresholds.filter((t) => !t.pass).length;
  if (s.aborted) blocks.push({ kind: 'text', tone: 'error', text: `Stopped early during ${s.aborted.level}: ${s.aborted.reason}.` });
  if (s.thresholds.length > 0) {
    blocks.push(
      failed === 0
        ? { kind: 'text', tone: 'ok', text: `PASS: ${s.thresholds.length} threshold${s.thresholds.length === 1 ? '' : 's'} met.` }
        : { kind: 'text', tone: 'error', text: `FAIL: ${failed} of ${s.thresholds.length} threshold results breached.` },
    );
  }
  if (outPath) blocks.push({ kind: 'text', tone: 'dim', text: `Summary written to ${outPath}` });
  if (reportPath) blocks.push({ kind: 'text', tone: 'dim', text: `Report written to ${reportPath}` });
  return { json: s, blocks, exitCode: s.passed ? 0 : 1 };
}
