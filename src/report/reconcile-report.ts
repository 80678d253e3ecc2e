/**
 * `pay reconcile ... --report <file>` and `pay reconcile show <run> --report <file>`: the run as
 * an HTML page or an xlsx workbook, chosen by the file's extension.
 */
import { invalid } from '../core/errors.js';
import type { RunExtras } from '../reconcile/report.js';
import type { RunRecord } from '../store/reconcile-store.js';
import { writeReport, type ReportKind } from './file.js';
import { collectReconData, type RunReader } from './reconcile-data.js';

/** Options of {@link writeReconcileReport}. */
export interface ReconcileReportOptions {
  path: string;
  kind: ReportKind;
  /** Days of run history (default 30). */
  historyDays?: number;
  /** `pay 0.1.0 at <time>`: written into the footer or the workbook's properties. */
  generatedBy: string;
}

/** Writes the report of a saved run. */
export async function writeReconcileReport(run: RunRecord, rs: RunReader, extras: RunExtras, opts: ReconcileReportOptions): Promise<void> {
  if (opts.kind === 'xlsx') {
    // Items are streamed into the workbook; only counts, sums and the history are gathered first.
    const data = await collectReconData(rs, run, extras, opts.historyDays, 0);
    const { writeReconcileXlsx } = await import('./reconcile-xlsx.js');
    await writeReconcileXlsx(opts.path, data, rs, opts.generatedBy);
    return;
  }
  const data = await collectReconData(rs, run, extras, opts.historyDays);
  const { reconcileHtml } = await import('./reconcile-html.js');
  writeReport(opts.path, reconcileHtml(data, opts.generatedBy));
}

/** Parses `--history-days`. */
export function parseHistoryDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 366) {
    throw invalid(`--history-days "${value}" is not a whole number of days from 1 to 366`);
  }
  return n;
}
