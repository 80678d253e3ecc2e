/**
 * `pay stats ... --report health.html`: the figures `pay stats` computed, plus a series to chart.
 * With --by the command's own series are used; without it the report picks a bucket for the window
 * (by hour up to 3 days, else by day) and reads the series once more, leaving stdout as it was.
 */
import { buildStats, type BuildStatsOptions, type StatsResult } from '../commands/stats.js';
import type { StatsStore } from '../store/stats-store.js';
import { writeReport } from './file.js';
import { bucketTime, defaultBucket, statsHtml } from './stats-html.js';

/** Where the figures came from and who wrote the page. */
export interface StatsReportContext {
  /** The book's location, password masked (the context's `dbPath`). */
  book: string;
  /** Now (epoch ms): the end of a window without --until. */
  now: number;
  generatedBy: string;
}

/** Builds and writes the page. */
export async function writeStatsReport(path: string, r: StatsResult, store: StatsStore, range: BuildStatsOptions, ctx: StatsReportContext): Promise<void> {
  let series = r.data;
  const byDefault = !r.data.by;
  if (byDefault) {
    let from = range.since ? Date.parse(range.since) : undefined;
    const to = range.until ? Date.parse(range.until) : ctx.now;
    if (from === undefined) {
      // No --since: the window starts at the first call; read the days to find it.
      series = await buildStats(store, { ...range, by: 'day' });
      const days = series.rows.flatMap((x) => (x.series ?? []).map((p) => p.bucket)).sort();
      from = days.length ? bucketTime(days[0]) : to;
      // A window of past data is measured to its last call, not to now.
      const last = days.length ? bucketTime(days[days.length - 1]) + 24 * 3_600_000 : to;
      if (defaultBucket(from, Math.min(to, last)) === 'hour') series = await buildStats(store, { ...range, by: 'hour' });
    } else series = await buildStats(store, { ...range, by: defaultBucket(from, to) });
  }
  const page = statsHtml({
    data: r.data,
    series,
    by: series.by ?? 'hour',
    byDefault,
    book: ctx.book,
    alerts: r.alerts,
    checks: r.checks,
    generatedBy: ctx.generatedBy,
  });
  writeReport(path, page);
}
