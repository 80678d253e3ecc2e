/**
 * `pay loadtest`: load tests that CI can gate on.
 *
 * Targets: a channel through its adapter (`--channel mock` in-process; a real channel or its
 * sandbox simulator over the shared HTTP client), or a raw HTTP endpoint (`--url`) for
 * calibration. Models: closed (`--concurrency 1,10,50` runs each level in turn) or open
 * (`--rate 200/s`, `--rate 100:1000/s`). Every run is bounded by `--duration` or `--requests`;
 * a live (non-loopback) endpoint needs `--allow-live`; load-test orders stay out of the order
 * book unless `--db` is given. Thresholds decide the exit status: any breach exits 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { invalid } from '../core/errors.js';
import { isoUtc } from '../core/time.js';
import { makePlan, type LoadtestOptions } from '../loadtest/options.js';
import { fmtInt } from '../loadtest/present.js';
import type { LevelBounds } from '../loadtest/runner.js';
import type { LevelRecorder } from '../loadtest/stats.js';
import type { LevelReport, LoadtestSummary } from '../loadtest/summary.js';
import type { MetricSource, ThresholdResult } from '../loadtest/thresholds.js';
import type { Context } from './context.js';

export { parseConcurrency, parseDuration, parseMix, parseRate, type LoadtestOptions } from '../loadtest/options.js';
export { isLoopbackHost } from '../loadtest/loopback.js';
export { presentLoadtest } from '../loadtest/present.js';

function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pay-cli' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

/** Runs the load test and returns its summary (thresholds evaluated). */
export async function loadtest(opts: LoadtestOptions, ctx: Context): Promise<LoadtestSummary> {
  if (opts.url !== undefined && opts.channel !== undefined) throw invalid('give --channel or --url, not both', { hint: '--url load-tests a raw HTTP endpoint; --channel goes through a channel adapter.' });
  const plan = await makePlan(opts);
  const reportPath = opts.report !== undefined ? await reportTarget(opts.report, ctx) : undefined;
  const { createStatusLine } = await import('../output/progress.js');
  const progress = createStatusLine(ctx);
  const opened =
    opts.url !== undefined
      ? await (await import('../loadtest/open-http.js')).openHttpTarget(opts, plan)
      : await (await import('../loadtest/open-channel.js')).openChannelTarget(opts, plan, ctx, (m) => progress.line(m));
  const { runLevel } = await import('../loadtest/runner.js');
  const { levelReport, addEfficiency, reportSource, baselineLevel, environment } = await import('../loadtest/summary.js');
  const { evaluateThreshold, abortable } = await import('../loadtest/thresholds.js');
  const startedAt = isoUtc(Date.now());
  const env = environment(packageVersion());
  const levels: LevelReport[] = [];
  let aborted: LoadtestSummary['aborted'];
  let pool: import('../loadtest/workers.js').WorkerPool | undefined;
  try {
    const { target } = opened;
    progress.update(`preparing ${target.description}...`);
    await target.prepare();
    // --workers: the threads load only now, and only for it.
    if (plan.workers !== undefined) pool = await (await import('../loadtest/workers.js')).WorkerPool.start(plan.workers, opts, plan.timeoutMs);
    // A request can take up to the timeout; the drain waits that long, plus a little.
    const bounds: LevelBounds = { ...plan.bounds, drainMs: plan.timeoutMs + 1000 };
    const early = opts.abortOnFail ? plan.thresholds.filter(abortable) : [];
    for (const [i, lp] of plan.levels.entries()) {
      if (opts.signal?.aborted) break;
      const span = bounds.durationMs !== undefined ? `${bounds.durationMs / 1000}s` : `${fmtInt(bounds.requests!)} requests`;
      const onTick = (rec: LevelRecorder, now: number): string | undefined => {
        const n = rec.live(now);
        progress.update(
          `${plan.levels.length > 1 ? `[${i + 1}/${plan.levels.length}] ` : ''}${lp.label}  ${n.elapsedSec.toFixed(0)}s/${span}  ${fmtInt(n.rps)} req/s  p99 ${n.p99} ms  errors ${n.errors}${n.errors ? ` (${(n.errorRate * 100).toFixed(2)}%)` : ''}`,
        );
        if (early.length === 0 || n.requests < 50 || n.elapsedSec < 1) return undefined;
        // Read lazily: only the metrics the thresholds name are computed.
        const live: MetricSource = {
          latencyAt: (p) => rec.latency.percentileMs(p),
          get maxMs() {
            return rec.latency.maxMs();
          },
          get meanMs() {
            return rec.latency.meanMs();
          },
          errorRate: n.errorRate,
          lateRate: rec.scheduled > 0 ? (rec.started > 0 ? rec.startedLate / rec.started : 0) : undefined,
          rps: n.rps,
        };
        const base = plan.baseline ? baselineLevel(plan.baseline, lp.key) : undefined;
        for (const t of early) {
          const r = evaluateThreshold(t, lp.label, live, base ? reportSource(base) : undefined);
          if (!r.pass && !r.note) return `threshold ${t.expr} breached at ${n.elapsedSec.toFixed(1)} s (${r.actual}${r.unit === 'req/s' ? ' req/s' : r.unit === '%' ? '%' : ' ms'})`;
        }
        return undefined;
      };
      const outcome = pool ? await pool.runLevel(lp, bounds, { onTick, signal: opts.signal }) : await runLevel(target, lp, bounds, { onTick, signal: opts.signal });
      const report = levelReport(lp, outcome);
      levels.push(report);
      progress.line(`${lp.label}: ${fmtInt(report.rps)} req/s, p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms, ${report.errors} error${report.errors === 1 ? '' : 's'}`);
      if (outcome.stoppedBy) {
        aborted = { reason: outcome.stoppedBy, level: lp.label };
        break;
      }
    }
    if (!aborted && opts.signal?.aborted) aborted = { reason: 'interrupted', level: plan.levels[levels.length]?.label ?? '' };
    progress.clear();
    addEfficiency(levels);
    const thresholds: ThresholdResult[] = [];
    for (const l of levels) {
      const base = plan.baseline ? baselineLevel(plan.baseline, l.key) : undefined;
      for (const t of plan.thresholds) thresholds.push(evaluateThreshold(t, l.label, reportSource(l), base ? reportSource(base) : undefined));
    }
    const summary: LoadtestSummary = {
      format: 'pay-loadtest-summary',
      version: 1,
      startedAt,
      finishedAt: isoUtc(Date.now()),
      config: plan.config,
      target: { ...opened.info, description: target.description, ...(pool ? await pool.close() : target.details()) },
      levels,
      thresholds,
      passed: !aborted && thresholds.every((t) => t.pass),
      ...(aborted ? { aborted } : {}),
      environment: env,
    };
    if (opts.out) {
      try {
        writeFileSync(opts.out, `${JSON.stringify(summary, null, 2)}\n`);
      } catch (err) {
        throw invalid(`cannot write --out ${opts.out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    if (reportPath) {
      const { writeLoadtestReport } = await import('../report/loadtest-html.js');
      writeLoadtestReport(reportPath, summary, plan.baseline, `pay ${env.pay as string} at ${isoUtc(Date.now())}`);
    }
    return summary;
  } finally {
    progress.clear();
    await pool?.close().catch(() => {});
    await opened.close();
  }
}

/** `--report <file.html>`: checked (name and write access) before the run, resolved against the cwd. */
export async function reportTarget(path: string, ctx: Context): Promise<string> {
  const { reportKind, checkWritable } = await import('../report/file.js');
  const { resolve } = await import('node:path');
  reportKind(path, ['html']);
  const full = resolve(ctx.cwd, path);
  checkWritable(full);
  return full;
}
