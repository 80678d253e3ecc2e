/**
 * `pay loadtest report <summary.json> --report load.html [--baseline base.json]`: the HTML page of
 * a load test saved earlier with `--out`, without running anything. It prints the run's tables as
 * `pay loadtest` did and exits 0: rendering is not a verdict (the page and the tables carry it).
 */
import { invalid } from '../core/errors.js';
import { isoUtc } from '../core/time.js';
import type { LoadtestSummary } from '../loadtest/summary.js';
import type { Presentation } from '../output/render.js';
import type { Context } from './context.js';

/** Options of `pay loadtest report`. */
export interface LoadtestReportOptions {
  report?: string;
  baseline?: string;
}

/** What was rendered. */
export interface LoadtestReportResult {
  summary: LoadtestSummary;
  reportPath: string;
}

/** Renders a saved summary. */
export async function loadtestReport(file: string, opts: LoadtestReportOptions, ctx: Context): Promise<LoadtestReportResult> {
  if (opts.report === undefined) throw invalid('missing --report <file.html>', { hint: 'e.g. pay loadtest report run.json --report load.html' });
  const { reportTarget } = await import('./loadtest.js');
  const reportPath = await reportTarget(opts.report, ctx);
  const { resolve } = await import('node:path');
  const { loadSummary } = await import('../loadtest/summary.js');
  const summary = loadSummary(resolve(ctx.cwd, file), 'summary');
  const baseline = opts.baseline !== undefined ? loadSummary(resolve(ctx.cwd, opts.baseline), 'baseline') : undefined;
  const { writeLoadtestReport } = await import('../report/loadtest-html.js');
  const pay = (summary.environment as { pay?: string }).pay ?? '';
  writeLoadtestReport(reportPath, summary, baseline, `pay ${pay} at ${isoUtc(ctx.clock())}`.replace('pay  at', 'pay at'));
  return { summary, reportPath };
}

/** The run's tables, and where the page went. */
export async function presentLoadtestReport(r: LoadtestReportResult): Promise<Presentation> {
  const { presentLoadtest } = await import('./loadtest.js');
  return { ...presentLoadtest(r.summary, undefined, r.reportPath), exitCode: 0 };
}
