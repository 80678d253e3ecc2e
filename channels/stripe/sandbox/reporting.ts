/**
 * Reporting: report runs of the itemized balance report, whose files are written by the
 * channel's own bill writer and served under /v1/files/{id}/contents.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Router } from '../../../src/sandbox/router.js';
import { balanceTransactionRow, writeItemized } from '../bill.js';
import type { FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';
import { expandObject } from './lists.js';
import { integer, invalidRequest, rid, str, throwMissing, type Obj, type StripeHandler } from './params.js';
import { txns, withTxnStatus } from './payouts-balance.js';
import { emit } from './webhooks.js';

/** The report run and file routes (file contents are served by handle(), as CSV). */
export function reportingRoutes(r: Router<StripeHandler>): void {
  r.post('/v1/reporting/report_runs', (sim, { p }) => createReportRun(sim, p));
  r.get('/v1/reporting/report_runs/:id', (sim, { params }) => sim.reportRuns.get(params.id) ?? throwMissing('reporting.report_run', params.id));
  r.get('/v1/files/:id', (sim, { params }) => sim.files.get(params.id)?.object ?? throwMissing('file', params.id));
}

/**
 * POST /v1/reporting/report_runs for the itemized balance report: pending at first, then
 * succeeded with a file written by the channel's own bill writer from the balance transactions
 * of the interval (sources expanded, so order numbers come along).
 */
export function createReportRun(sim: StripeSimulator, p: FormObject): Obj {
  const type = str(p.report_type);
  if (!type) throw invalidRequest('Missing required param: report_type.', { code: 'parameter_missing', param: 'report_type' });
  if (!/^balance_change_from_activity\.itemized\.[1-4]$/.test(type)) {
    throw invalidRequest(`The pay sandbox produces balance_change_from_activity.itemized.* reports only, not ${type}.`, { param: 'report_type' });
  }
  const params = (p.parameters && typeof p.parameters === 'object' && !Array.isArray(p.parameters) ? p.parameters : {}) as FormObject;
  const start = integer(params, 'interval_start', true)!;
  const end = integer(params, 'interval_end', true)!;
  if (end <= start) throw invalidRequest('interval_end must be after interval_start.', { param: 'parameters[interval_end]' });
  const timezone = str(params.timezone) ?? 'UTC';
  const id = rid('frr');
  const run: Obj = {
    id,
    object: 'reporting.report_run',
    created: sim.nowSec(),
    error: null,
    livemode: false,
    parameters: { interval_start: start, interval_end: end, timezone },
    report_type: type,
    result: null,
    status: 'pending',
    succeeded_at: null,
  };
  sim.reportRuns.set(id, run);
  const rows = txns(sim)
    .filter((t) => (t.created as number) >= start && (t.created as number) < end)
    .map((t, i) => balanceTransactionRow(expandObject(sim, withTxnStatus(sim, t), ['source']), i + 1));
  const fileId = rid('file');
  const path = join(sim.deps.workDir, `${fileId}.csv`);
  writeItemized(path, rows, { timeZone: timezone })
    .then(async () => {
      const { size } = await stat(path);
      const object = {
        id: fileId,
        object: 'file',
        created: sim.nowSec(),
        expires_at: sim.nowSec() + 7 * 86400,
        filename: `${fileId}.csv`,
        purpose: 'finance_report_run',
        size,
        title: `${type} ${id}`,
        type: 'csv',
        url: `${sim.deps.baseUrl?.() ?? ''}/v1/files/${fileId}/contents`,
      };
      sim.files.set(fileId, { path, object });
      run.result = object;
      run.status = 'succeeded';
      run.succeeded_at = sim.nowSec();
      emit(sim, 'reporting.report_run.succeeded', run, {});
    })
    .catch((err: Error) => {
      run.status = 'failed';
      run.error = err.message;
    });
  return run;
}
