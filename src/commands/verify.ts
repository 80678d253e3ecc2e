/**
 * `pay verify <file>...`: is each saved callback really from its channel, what does it claim,
 * and what should be answered? Files, directories (every file inside) and quoted globs; one row
 * per callback (per entry for HAR). `--apply` moves the local orders of valid ones.
 *
 * Exit status of a run: 2 when any file could not be judged (unreadable or unrecognised input,
 * unknown channel, missing or unusable keys); else 1 when any callback is invalid or `--apply`
 * refused one (unknown order, amount/currency mismatch); else 0. A replay applied twice is 0:
 * it is reported as a replay and changes nothing.
 */
import { invalid } from '../core/errors.js';
import { parseInstant } from '../core/time.js';
import type { Presentation } from '../output/render.js';
import type { Store } from '../store/store.js';
import type { CallbackDispatcher } from '../verify/dispatch.js';
import type { FileToVerify } from '../verify/files.js';
import type { VerifyRow } from '../verify/report.js';
import type { Context } from './context.js';

export interface VerifyOptions {
  /** Channel id or module path; skips detection. */
  channel?: string;
  /** Move local orders as valid callbacks say. */
  apply?: boolean;
  /** Verify as of this moment (ISO 8601 or unix seconds). */
  at?: string;
  /** Freshness window override, seconds. */
  tolerance?: string;
  /** `Name: value` headers for bare bodies (laid over a file's own). */
  header?: string[];
}

export interface VerifyResult {
  rows: VerifyRow[];
  /** The moment verified at, ms. */
  at: number;
  applied: boolean;
  /** `--json`: the presenter skips the human table (10,000 rows of it cost real time). */
  json?: boolean;
}

/** Parses `--tolerance`: whole seconds, 0 or more. */
export function parseTolerance(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = String(text).trim();
  if (!/^\d{1,9}$/.test(t)) throw invalid(`--tolerance "${t.slice(0, 20)}" is not a whole number of seconds`, { hint: 'E.g. --tolerance 600 for ten minutes.' });
  return Number(t);
}

/** Verifies callback files. */
export async function verify(files: string[], opts: VerifyOptions, ctx: Context): Promise<VerifyResult> {
  const [{ expandInputs }, { parseHeaderFlags }, { CallbackDispatcher }, { verifyFiles, startRsaThread }] = await Promise.all([
    import('../verify/inputs.js'),
    import('../verify/request-file.js'),
    import('../verify/dispatch.js'),
    import('../verify/files.js'),
  ]);
  const at = opts.at !== undefined ? parseInstant(opts.at, '--at') : ctx.clock();
  const toleranceSec = parseTolerance(opts.tolerance);
  const headers = parseHeaderFlags(opts.header);
  const { isAbsolute, join } = await import('node:path');
  const items: FileToVerify[] = [];
  for (const input of expandInputs(files, ctx.cwd)) {
    // A directory's entries are known regular files (input.paths); files and globs are not.
    input.files.forEach((file, k) => items.push(input.paths ? { file, path: input.paths[k], regular: true } : { file, path: isAbsolute(file) ? file : join(ctx.cwd, file) }));
  }
  const debug = (m: string) => ctx.debug(m);
  // A large run's RSA thread starts now, while this thread loads the channel modules.
  const rsaThread = startRsaThread(items.length, debug);
  let dispatcher: CallbackDispatcher;
  let store: Store | undefined;
  try {
    dispatcher = new CallbackDispatcher({ config: ctx.config(), profile: ctx.profile, env: ctx.env, cwd: ctx.cwd, debug }, { channel: opts.channel, at, toleranceSec });
    await dispatcher.init();
    store = opts.apply ? await ctx.store() : undefined;
  } catch (err) {
    await (await rsaThread)?.();
    throw err;
  }
  const rows = await verifyFiles(dispatcher, items, { headers, keepRequests: Boolean(store), debug, rsaThread });
  if (store) {
    const { applyCallback } = await import('../verify/apply.js');
    for (const row of rows) {
      if (row.outcome.class === 'valid' && row.outcome.verdict && row.request) row.apply = await applyCallback(store, row.outcome.verdict, row.request);
    }
  }
  return { rows, at, applied: Boolean(opts.apply), json: ctx.json };
}

/** Human and JSON output of verify. */
export async function presentVerify(r: VerifyResult): Promise<Presentation> {
  const report = await import('../verify/report.js');
  const exitCode = report.runExitStatus(r.rows);
  if (r.json) return { json: r.rows.map(report.rowJson), blocks: [], exitCode };
  const columns = [
    { key: 'file', header: 'file' },
    { key: 'verdict', header: 'verdict' },
    { key: 'channel', header: 'channel' },
    { key: 'event', header: 'event' },
    { key: 'orderNo', header: 'order no' },
    { key: 'tradeNo', header: 'trade no' },
    { key: 'amount', header: 'amount', align: 'right' as const },
    { key: 'status', header: 'status' },
    { key: 'reply', header: 'reply' },
    ...(r.applied ? [{ key: 'apply', header: 'apply' }] : []),
    { key: 'reason', header: 'reason' },
  ];
  const rows = r.rows.map((row) => {
    const ev = row.outcome.verdict?.event;
    return {
      file: report.rowSource(row),
      verdict: report.classCell(row.outcome.class),
      channel: row.outcome.channel,
      event: ev?.type,
      orderNo: ev?.orderNo ?? ev?.refundNo,
      tradeNo: ev?.channelTradeNo,
      amount: report.amountText(row),
      status: ev?.status ?? ev?.providerStatus,
      reply: report.replyText(row),
      apply: row.apply ? { text: `${row.apply.outcome}: ${row.apply.message}`, tone: row.apply.outcome === 'applied' ? ('ok' as const) : row.apply.outcome === 'unknown-order' || row.apply.outcome === 'mismatch' ? ('error' as const) : ('dim' as const) } : undefined,
      reason: report.reasonText(row),
    };
  });
  const count = (c: string) => r.rows.filter((x) => x.outcome.class === c).length;
  const parts = [`${count('valid')} valid`, `${count('invalid')} invalid`];
  if (count('error')) parts.push(`${count('error')} not judged (input or config error)`);
  const summary = `${r.rows.length} callback${r.rows.length === 1 ? '' : 's'}: ${parts.join(', ')}${
    r.applied ? `; applied ${r.rows.filter((x) => x.apply?.outcome === 'applied').length}` : ''
  } (as of ${new Date(r.at).toISOString()})`;
  // Advice for rows pay could not judge, once per distinct hint.
  const hints = [...new Set(r.rows.map((x) => x.outcome.error?.hint).filter((h): h is string => Boolean(h)))];
  return {
    json: r.rows.map(report.rowJson),
    blocks: [
      { kind: 'table', columns, rows },
      ...hints.map((h) => ({ kind: 'text' as const, text: h, tone: 'dim' as const })),
      { kind: 'text', text: summary, tone: exitCode === 0 ? 'ok' : exitCode === 1 ? 'error' : 'warn' },
    ],
    exitCode,
  };
}
