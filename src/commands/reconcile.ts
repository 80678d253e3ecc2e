/**
 * `pay reconcile`: a channel's bill for one business day against the order book;
 * `pay reconcile history` and `pay reconcile show <run>`: saved runs.
 *
 * The bill is read with the channel module's bill reader (or, with --mapping, as a generic CSV
 * described by a mapping file, for any channel or bank), or fetched first with --download through
 * the channel adapter. Exit 0 when every row matched, 1 when discrepancies remain, 2 for bad input
 * (nothing is saved then).
 */
import { invalid, PayError } from '../core/errors.js';
import { parseDate } from '../core/time.js';
import type { BillRow, ChannelModule, ReadBillOptions } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import type { RunRecord } from '../store/reconcile-store.js';
import type { Context } from './context.js';
import { required } from './prompt.js';

export interface ReconcileOptions {
  channel?: string;
  date?: string;
  bill?: string;
  download?: boolean;
  mapping?: string;
  format?: string;
  out?: string;
  /** Merchant account the bill must belong to (default: from the channel's config). */
  merchant?: string;
  /** Business-day zone (default: channel config `timeZone`, else the channel's own). */
  timeZone?: string;
  /** Minutes before midnight in which unbilled book entries are carried over (default 30). */
  carryWindow?: string;
  /** Also write the run as an HTML page or xlsx workbook (by extension). */
  report?: string;
  /** Days of run history in the report (default 30). */
  historyDays?: string;
}

/** A run and what to print of it. */
export interface ReconcileResult {
  run: RunRecord;
  report: Record<string, unknown>;
  format: 'table' | 'json' | 'csv';
  /** The human tables, or the CSV text. */
  text: string;
  out?: string;
  /** Where --report wrote the HTML or xlsx report. */
  reportFile?: string;
  /** Exit status: 0 reconciled, 1 discrepancies. */
  exitCode: 0 | 1;
}

const CHANNEL_ID = /^[a-z][a-z0-9-]{1,31}$/;

/** Config keys that name the merchant account in the channels' settings. */
const MERCHANT_KEYS = ['merchantId', 'mchId', 'merId', 'pid'];

/** A literal (non-reference) string setting of a channel, read without validating its config. */
function literalSetting(ctx: Context, channel: string, keys: string[]): string | undefined {
  let loaded;
  try {
    loaded = ctx.config();
  } catch {
    return undefined;
  }
  const base = loaded.config.channels[channel] ?? {};
  const profile = ctx.profile ? (loaded.config.profiles[ctx.profile]?.channels?.[channel] ?? {}) : {};
  const settings = { ...base, ...profile } as Record<string, unknown>;
  for (const k of keys) {
    const v = settings[k];
    if (typeof v === 'string' && v !== '' && !v.startsWith('env:') && !v.startsWith('file:')) return v;
    if (typeof v === 'string' && v.startsWith('env:')) {
      const e = ctx.env[v.slice(4)];
      if (e) return e;
    }
  }
  return undefined;
}

async function loadModule(ctx: Context, channel: string, optional: boolean): Promise<ChannelModule | undefined> {
  const { loadChannelModule } = await import('../channel/registry.js');
  try {
    return await loadChannelModule(channel, { config: ctx.config(), cwd: ctx.cwd });
  } catch (err) {
    if (optional && err instanceof PayError && /unknown channel/.test(err.message)) return undefined;
    throw err;
  }
}

/** True when a value can be handed to a worker thread (a config of plain data can). */
function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Runs a reconciliation and saves it. */
export async function reconcileCommand(opts: ReconcileOptions, ctx: Context): Promise<ReconcileResult> {
  const channel = await required(ctx, opts.channel, { flag: '--channel', message: 'Channel whose bill to reconcile:', choices: ['mock', 'alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay'] });
  const date = parseDate(await required(ctx, opts.date, { flag: '--date', message: 'Business day (YYYY-MM-DD):' }), '--date');
  if (opts.bill && opts.download) throw invalid('give either --bill <file> or --download, not both');
  if (!opts.bill && !opts.download) {
    throw invalid('missing the bill: pass --bill <file> or --download', { hint: 'Example: pay reconcile --channel alipay --date 2026-11-22 --bill ./20881234_20261122.csv.zip' });
  }
  if (opts.download && opts.mapping) throw invalid('--mapping reads a file given with --bill; --download uses the channel\'s own format');
  const { parseFormat } = await import('../reconcile/report.js');
  const format = parseFormat(opts.format, opts.out);
  const reportOpts = await reportOptions(opts, ctx);
  let carryWindowMs: number | undefined;
  if (opts.carryWindow !== undefined) {
    const minutes = Number(opts.carryWindow);
    if (!Number.isInteger(minutes) || minutes < 0 || minutes > 1440) throw invalid('--carry-window must be a whole number of minutes from 0 to 1440');
    carryWindowMs = minutes * 60_000;
  }

  const { resolve, join, dirname, basename } = await import('node:path');
  const mod = await loadModule(ctx, channel, Boolean(opts.mapping));
  if (!mod && !CHANNEL_ID.test(channel)) throw invalid(`"${channel}" is not a channel id (lowercase letters, digits and dashes)`);
  const channelId = mod?.id ?? channel;

  let mapping: import('../reconcile/mapping.js').BillMapping | undefined;
  let mappingSha256: string | undefined;
  if (opts.mapping) {
    const { loadMapping } = await import('../reconcile/mapping.js');
    const { createHash } = await import('node:crypto');
    const loaded = await loadMapping(resolve(ctx.cwd, opts.mapping));
    mapping = loaded.mapping;
    mappingSha256 = createHash('sha256').update(loaded.text).digest('hex');
  }

  const timeZone = opts.timeZone ?? literalSetting(ctx, channelId, ['timeZone']) ?? mod?.description.timeZone ?? mapping?.timeZone ?? 'UTC';
  const { zoneOffsetMinutes } = await import('../core/time.js');
  try {
    zoneOffsetMinutes(timeZone, 0);
  } catch {
    throw invalid(`time zone "${timeZone}" is not an IANA zone`, { hint: 'Use e.g. Asia/Shanghai or UTC (--time-zone, or channels.<id>.timeZone in the config).' });
  }
  const merchantId = opts.merchant ?? literalSetting(ctx, channelId, MERCHANT_KEYS);
  const readOptions: ReadBillOptions = { date, ...(merchantId ? { merchantId } : {}) };

  const { createProgress } = await import('../output/progress.js');
  const { fileSize, fingerprint } = await import('../reconcile/file-hash.js');
  let path: string;
  let billFormat: string;
  let rows: AsyncIterable<BillRow> | undefined;
  let packed: import('../reconcile/stage-batch.js').PackedBill | undefined;
  let totalBytes: number;
  let sha256: string | Promise<string>;
  const progress = { current: undefined as ReturnType<typeof createProgress> | undefined };

  if (opts.download) {
    const opened = await ctx.channel(channelId);
    if (!opened.adapter.downloadBill) throw invalid(`channel ${channelId} cannot download bills`, { hint: 'Download the bill yourself and pass it with --bill <file>.' });
    const { mkdir } = await import('node:fs/promises');
    // Downloaded bills are kept beside the order book, so a run's source stays available.
    const dir = join(dirname(ctx.localPath), 'bills', channelId);
    await mkdir(dir, { recursive: true });
    const downloaded = await opened.adapter.downloadBill({ date, dir });
    path = downloaded.path;
    billFormat = downloaded.format;
    ({ sha256, bytes: totalBytes } = await fingerprint(path));
    const reader = opened.adapter.readBill?.bind(opened.adapter) ?? mod?.bill?.read.bind(mod.bill);
    if (!reader) throw invalid(`channel ${channelId} has no bill reader`);
    rows = reader({ path }, readOptions);
  } else {
    path = resolve(ctx.cwd, opts.bill!);
    // The file is hashed while it is read (this thread waits on the reader much of the time);
    // its size is known at once, or the file is missing.
    const hashing = fingerprint(path);
    hashing.catch(() => {
      /* awaited by the engine before anything is saved */
    });
    totalBytes = await fileSize(path);
    sha256 = hashing.then((f) => f.sha256);
    if (!mapping && !mod?.bill) {
      throw invalid(`channel ${channelId} has no bill reader`, { hint: 'Describe the file with a mapping: --mapping map.json (see README, "Generic CSV bills").' });
    }
    billFormat = mapping ? 'mapping' : channelId;
    const { useReadWorker, readInWorker } = await import('../reconcile/worker-read.js');
    const config = ctx.config();
    if (useReadWorker(totalBytes, ctx.env) && cloneable(config)) {
      // A big bill: read and packed on a worker thread while this one stages it.
      ctx.debug(`reading ${basename(path)} on a worker thread`);
      const reader = mapping ? { kind: 'mapping' as const, mapping, businessTimeZone: timeZone } : { kind: 'channel' as const, channel: channelId, cwd: ctx.cwd, config };
      packed = readInWorker({ path, options: readOptions, reader }, (n) => progress.current?.bytes(n));
    } else if (mapping) {
      const { mappingBillReader } = await import('../reconcile/mapping-reader.js');
      rows = mappingBillReader(mapping, { businessTimeZone: timeZone, onBytes: (n) => progress.current?.bytes(n) }).read({ path }, readOptions);
    } else {
      rows = mod!.bill!.read({ path }, readOptions);
    }
  }

  const { reconcile } = await import('../reconcile/engine.js');
  const rs = await (await ctx.store()).reconciliation();
  try {
    progress.current = createProgress(ctx, `reading ${basename(path)}`, { totalBytes: billFormat === 'mapping' ? totalBytes : undefined });
    let outcome;
    try {
      outcome = await reconcile(rs, {
        channel: channelId,
        date,
        timeZone,
        rows,
        packed,
        bill: { path, sha256, bytes: totalBytes, format: billFormat, source: opts.download ? 'download' : 'file', mappingSha256 },
        carryWindowMs,
        clock: ctx.clock,
        onRows: (n) => progress.current?.rows(n),
        onMatching: () => progress.current?.phase('matching'),
      });
    } finally {
      progress.current.done();
    }
    const extras = { replaced: outcome.replaced, superseded: outcome.superseded, outstanding: outcome.outstanding };
    const report = await finishReport(outcome.run, rs, extras, format, opts.out, ctx, reportOpts);
    return { ...report, exitCode: report.reconciled ? 0 : 1 };
  } finally {
    await rs.close();
  }
}

async function finishReport(
  run: RunRecord,
  rs: import('../store/reconcile-store.js').ReconcileStore,
  extras: import('../reconcile/report.js').RunExtras,
  format: 'table' | 'json' | 'csv',
  out: string | undefined,
  ctx: Context,
  reportOpts?: import('../report/reconcile-report.js').ReconcileReportOptions,
): Promise<Omit<ReconcileResult, 'exitCode'> & { reconciled: boolean }> {
  const { reportJson, reportCsv, reportBlocks, writeReportFile, discrepancies } = await import('../reconcile/report.js');
  const { formatBlocks } = await import('../output/render.js');
  let outPath: string | undefined;
  if (out) {
    const { resolve } = await import('node:path');
    outPath = resolve(ctx.cwd, out);
    await writeReportFile(outPath, format, run, rs, extras);
  }
  const report = await reportJson(run, rs, extras);
  let text = '';
  if (format === 'csv') text = await reportCsv(run, rs);
  else if (format === 'table') text = formatBlocks(await reportBlocks(run, rs, extras), ctx.color);
  if (reportOpts) {
    const { writeReconcileReport } = await import('../report/reconcile-report.js');
    await writeReconcileReport(run, rs, extras, reportOpts);
  }
  return { run, report, format, text, out: outPath, reportFile: reportOpts?.path, reconciled: discrepancies(run) === 0 };
}

/** `--report` and `--history-days`, checked before any work. */
async function reportOptions(opts: { report?: string; historyDays?: string }, ctx: Context): Promise<import('../report/reconcile-report.js').ReconcileReportOptions | undefined> {
  if (opts.report === undefined) {
    if (opts.historyDays !== undefined) throw invalid('--history-days goes with --report <file.html|file.xlsx>');
    return undefined;
  }
  const { reportKind, checkWritable } = await import('../report/file.js');
  const { parseHistoryDays } = await import('../report/reconcile-report.js');
  const { resolve } = await import('node:path');
  const kind = reportKind(opts.report, ['html', 'xlsx']);
  const historyDays = parseHistoryDays(opts.historyDays);
  const path = resolve(ctx.cwd, opts.report);
  checkWritable(path);
  return { path, kind, historyDays, generatedBy: `pay at ${new Date(ctx.clock()).toISOString()}` };
}

/** Output of a run (and of `show`): JSON for --json / --format json, CSV, or tables. */
export function presentReconcile(r: ReconcileResult): Presentation {
  const blocks: Presentation['blocks'] = [];
  if (r.reportFile) blocks.push({ kind: 'text', tone: 'dim', text: `Report written to ${r.reportFile}.` });
  if (r.out) {
    blocks.push({ kind: 'text', tone: 'dim', text: `Report written to ${r.out}.` });
    // With --out, stdout keeps the short human summary unless a format was asked for there too.
  }
  if (r.format === 'json') blocks.unshift({ kind: 'raw', text: JSON.stringify(r.report, null, 2) });
  else if (r.format === 'csv') blocks.unshift({ kind: 'raw', text: r.text.replace(/\n$/, '') });
  else blocks.unshift({ kind: 'raw', text: r.text });
  return { json: r.report, blocks, exitCode: r.exitCode };
}

export interface HistoryOptions {
  channel?: string;
  limit?: string;
}

/** Saved runs, newest first. */
export async function reconcileHistory(opts: HistoryOptions, ctx: Context): Promise<{ runs: RunRecord[] }> {
  const limit = opts.limit === undefined ? 20 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw invalid('--limit must be a whole number from 1 to 10000');
  const rs = await (await ctx.store({ readOnly: true })).reconciliation();
  try {
    return { runs: await rs.listRuns({ channel: opts.channel, limit }) };
  } finally {
    await rs.close();
  }
}

/** Human and JSON output of `reconcile history`. */
export function presentHistory(r: { runs: RunRecord[] }): Presentation {
  const disc = (run: RunRecord) => run.missingLocal + run.missingChannel + run.amountMismatch + run.statusMismatch + run.currencyMismatch + run.duplicate;
  return {
    json: {
      runs: r.runs.map((run) => ({
        runId: run.id,
        channel: run.channel,
        date: run.date,
        timeZone: run.timeZone,
        bill: { path: run.billPath, format: run.billFormat, sha256: run.billSha256, rows: run.billRows },
        summary: { matched: run.matched, missingLocal: run.missingLocal, missingChannel: run.missingChannel, amountMismatch: run.amountMismatch, statusMismatch: run.statusMismatch, currencyMismatch: run.currencyMismatch, duplicate: run.duplicate },
        carriedOver: run.carriedOver,
        resolved: run.resolved,
        reconciled: disc(run) === 0,
        current: run.supersededBy === undefined,
        ...(run.supersededBy ? { supersededBy: run.supersededBy } : {}),
        finishedAt: run.finishedAt,
      })),
    },
    blocks: [
      {
        kind: 'table',
        columns: [
          { key: 'id', header: 'run', align: 'right' },
          { key: 'channel', header: 'channel' },
          { key: 'date', header: 'day' },
          { key: 'rows', header: 'rows', align: 'right' },
          { key: 'matched', header: 'matched', align: 'right' },
          { key: 'disc', header: 'discrepancies', align: 'right' },
          { key: 'carried', header: 'carried', align: 'right' },
          { key: 'resolved', header: 'resolved', align: 'right' },
          { key: 'sha', header: 'bill sha256' },
          { key: 'at', header: 'run at' },
        ],
        rows: r.runs.map((run) => ({
          id: run.supersededBy ? { text: `${run.id}*`, tone: 'dim' } : run.id,
          channel: run.channel,
          date: run.date,
          rows: run.billRows.toLocaleString('en-US'),
          matched: run.matched.toLocaleString('en-US'),
          disc: disc(run) ? { text: String(disc(run)), tone: 'error' } : { text: '0', tone: 'ok' },
          carried: run.carriedOver,
          resolved: run.resolved,
          sha: run.billSha256.slice(0, 12),
          at: run.finishedAt,
        })),
        empty: 'No reconciliation runs yet. Run one with: pay reconcile --channel <id> --date <YYYY-MM-DD> --bill <file>',
      },
      ...(r.runs.some((run) => run.supersededBy) ? [{ kind: 'text' as const, tone: 'dim' as const, text: '* superseded by a later run of the same day with another file' }] : []),
    ],
  };
}

export interface ShowOptions {
  format?: string;
  out?: string;
  report?: string;
  historyDays?: string;
}

/** A saved run's report. */
export async function reconcileShow(runRef: string, opts: ShowOptions, ctx: Context): Promise<ReconcileResult> {
  const id = Number(runRef);
  if (!Number.isSafeInteger(id) || id < 1) throw invalid(`"${runRef}" is not a run id`, { hint: 'Run ids are numbers: see pay reconcile history.' });
  const { parseFormat } = await import('../reconcile/report.js');
  const format = parseFormat(opts.format, opts.out);
  const reportOpts = await reportOptions(opts, ctx);
  const rs = await (await ctx.store({ readOnly: true })).reconciliation();
  try {
    const run = await rs.getRun(id);
    if (!run) throw invalid(`there is no reconciliation run ${id} in ${ctx.dbPath}`, { hint: 'List runs with: pay reconcile history' });
    const report = await finishReport(run, rs, {}, format, opts.out, ctx, reportOpts);
    // Showing a saved run is a lookup, not a reconciliation: it succeeds whatever the run found.
    return { ...report, exitCode: 0 };
  } finally {
    await rs.close();
  }
}
