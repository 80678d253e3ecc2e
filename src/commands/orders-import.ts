/**
 * `pay orders import <file.csv>`: loads a company's own order export so that books kept outside
 * `pay` can be reconciled. Columns (by name, any order; extra columns are ignored):
 *
 *   order_no, channel, kind, amount, currency, status, created_at, paid_at, channel_trade_no, refund_no
 *
 * kind is payment, refund or payout. A refund row names its order in order_no and carries its own
 * refund_no; its paid_at is when it was refunded. Every row is checked (amount with the currency's
 * decimals, known currency, status words, ISO 8601 times with an offset, order numbers of 1 to 64
 * characters channels accept); bad rows
 * are reported with their line numbers and, by default, nothing is imported unless every row is
 * good. Re-importing the same file changes nothing; a row that disagrees with the order book is
 * reported as a conflict, except a forward move the state machine allows (pending -> succeeded),
 * which is applied, so a later export brings the books up to date.
 */
import { invalid, PayError } from '../core/errors.js';
import { normalizeCurrency, parseAmount } from '../core/money.js';
import { isoUtc, zoneOffsetMinutes } from '../core/time.js';
import type { Presentation } from '../output/render.js';
import type { ImportCounts, ImportProblem, ImportRow } from '../store/order-import.js';
import type { Context } from './context.js';

export interface ImportOptions {
  /** Import the good rows even when some are rejected. */
  partial?: boolean;
  /** Check everything, write nothing. */
  dryRun?: boolean;
  /** Zone for times written without an offset (default: such times are rejected). */
  timeZone?: string;
}

export interface ImportResult extends ImportCounts {
  file: string;
  sha256: string;
  dryRun: boolean;
  partial: boolean;
  /** Rejected rows with line numbers (at most 1000 are kept). */
  problems: ImportProblem[];
  /** Header columns that were not used. */
  ignoredColumns: string[];
}

const COLUMNS = ['order_no', 'channel', 'kind', 'amount', 'currency', 'status', 'created_at', 'paid_at', 'channel_trade_no', 'refund_no'] as const;
const REQUIRED = ['order_no', 'channel', 'kind', 'amount', 'currency', 'status', 'created_at'] as const;
type Column = (typeof COLUMNS)[number];

const STATUSES: Record<ImportRow['kind'], readonly string[]> = {
  payment: ['created', 'pending', 'succeeded', 'failed', 'closed', 'refunded'],
  payout: ['created', 'pending', 'succeeded', 'failed', 'closed'],
  refund: ['created', 'pending', 'succeeded', 'failed'],
};
const PAID: Record<ImportRow['kind'], readonly string[]> = { payment: ['succeeded', 'refunded'], payout: ['succeeded'], refund: ['succeeded'] };
const CHANNEL_ID = /^[a-z][a-z0-9-]{1,31}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
const STAGE_BATCH = 5000;

/** Parses an ISO 8601 time; without an offset only when a zone is given. Returns ISO UTC. */
export function parseExportTime(text: string, column: string, zone: string | undefined, toUtc: ((wallMs: number) => number) | undefined): string {
  const m = ISO.exec(text);
  if (!m) throw invalid(`${column} "${text.slice(0, 40)}" is not an ISO 8601 time (e.g. 2026-11-22T10:15:00+08:00)`);
  const [, y, mo, d, h, mi, s = '0', frac = '', off] = m;
  const wall = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Number(frac.padEnd(3, '0').slice(0, 3)));
  const dt = new Date(wall);
  if (+mo < 1 || +mo > 12 || dt.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59) throw invalid(`${column} "${text.slice(0, 40)}" is not a valid date and time`);
  if (!off) {
    if (!zone || !toUtc) throw invalid(`${column} "${text.slice(0, 40)}" has no UTC offset`, { hint: 'Add Z or an offset (+08:00), or pass --time-zone Asia/Shanghai to say which zone the file uses.' });
    return isoUtc(toUtc(wall));
  }
  if (/^z$/i.test(off)) return isoUtc(wall);
  const digits = off.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return isoUtc(wall - (off[0] === '-' ? -1 : 1) * minutes * 60_000);
}

/**
 * Order and refund numbers of books kept elsewhere: 1 to 64 letters, digits and `_ - . | * :`,
 * the characters channels accept in merchant numbers (Alipay's out_trade_no allows 64 with
 * underscores; WeChat Pay's allows `_-|*`). Numbers pay generates are stricter (core/ids).
 */
const IMPORTED_NO = /^[A-Za-z0-9_\-.|*:]{1,64}$/;

function importedNo(text: string, column: string): string {
  if (!IMPORTED_NO.test(text)) {
    throw invalid(`${column} "${text.length > 40 ? `${text.slice(0, 40)}…` : text}" is not valid`, { hint: 'Use 1 to 64 letters, digits and _ - . | * : (what channels accept).' });
  }
  return text;
}

/** Checks one record of the export on its own. */
export function parseImportRow(line: number, get: (c: Column) => string, zone?: string, toUtc?: (wallMs: number) => number): ImportRow {
  const kind = get('kind').toLowerCase();
  if (kind !== 'payment' && kind !== 'refund' && kind !== 'payout') throw invalid(`kind "${get('kind').slice(0, 20)}" is not payment, refund or payout`);
  const orderNo = importedNo(get('order_no'), 'order_no');
  const channel = get('channel');
  if (!CHANNEL_ID.test(channel)) throw invalid(`channel "${channel.slice(0, 40)}" is not a channel id (lowercase letters, digits and dashes, e.g. alipay)`);
  const currency = normalizeCurrency(get('currency'));
  const amountMinor = parseAmount(get('amount'), currency);
  const status = get('status').toLowerCase();
  if (!STATUSES[kind].includes(status)) throw invalid(`status "${get('status').slice(0, 20)}" is not a ${kind} status (${STATUSES[kind].join(', ')})`);
  const createdAt = parseExportTime(get('created_at'), 'created_at', zone, toUtc);
  const paidText = get('paid_at');
  const paid = PAID[kind].includes(status);
  let paidAt: string | null = null;
  if (paid) {
    if (!paidText) throw invalid(`paid_at is empty, but a ${status} ${kind} has a time its money moved`);
    paidAt = parseExportTime(paidText, 'paid_at', zone, toUtc);
  } else if (paidText) {
    throw invalid(`paid_at is set, but the ${kind} is ${status}`, { hint: 'Only settled rows (succeeded, refunded) have a paid_at.' });
  }
  const refundText = get('refund_no');
  let refundNo: string | null = null;
  if (kind === 'refund') refundNo = importedNo(refundText, 'refund_no');
  else if (refundText) throw invalid(`refund_no is set on a ${kind} row`, { hint: 'Only refund rows carry a refund_no; their order_no names the refunded order.' });
  const trade = get('channel_trade_no');
  if (trade.length > 128 || /[\x00-\x1f]/.test(trade)) throw invalid('channel_trade_no is longer than 128 characters or holds control characters');
  return { line, kind, orderNo, refundNo, channel, amountMinor, currency, status, createdAt, paidAt, channelTradeNo: trade || null };
}

/** Imports an order export. */
export async function importOrders(file: string, opts: ImportOptions, ctx: Context): Promise<ImportResult> {
  if (!file) throw invalid('give the CSV file to import: pay orders import <file.csv>');
  const { resolve } = await import('node:path');
  const path = resolve(ctx.cwd, file);
  const { fingerprint } = await import('../reconcile/file-hash.js');
  const { readCsvRecords } = await import('../channel/csv.js');
  const { zoneConverter } = await import('../reconcile/mapping-time.js');
  const { createProgress } = await import('../output/progress.js');

  let toUtc: ((wallMs: number) => number) | undefined;
  if (opts.timeZone) {
    try {
      zoneOffsetMinutes(opts.timeZone, 0);
    } catch {
      throw invalid(`--time-zone "${opts.timeZone}" is not a time zone`, { hint: 'Use an IANA zone such as Asia/Shanghai or UTC.' });
    }
    toUtc = zoneConverter(opts.timeZone);
  }

  const { sha256, bytes } = await fingerprint(path);
  if (bytes === 0) throw invalid(`${path} is empty`, { hint: 'Export the orders again; the file has no header and no rows.' });
  const imp = await (await ctx.store()).orderImport();
  const progress = createProgress(ctx, 'importing', { totalBytes: bytes });
  await imp.begin();
  try {
    let index: Record<Column, number> | undefined;
    let ignored: string[] = [];
    let rows = 0;
    let batch: ImportRow[] = [];
    for await (const rec of readCsvRecords(path, { label: 'order export', onBytes: (n) => progress.bytes(n) })) {
      if (!index) {
        const names = rec.fields.map((f) => f.trim().toLowerCase());
        const missing = REQUIRED.filter((c) => !names.includes(c));
        if (missing.length) {
          throw invalid(`${path}:${rec.line}: the header lacks ${missing.join(', ')}`, {
            hint: `The first line must name the columns: ${COLUMNS.join(', ')} (paid_at, channel_trade_no and refund_no may be left out).`,
          });
        }
        index = Object.fromEntries(COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<Column, number>;
        ignored = names.filter((n) => !(COLUMNS as readonly string[]).includes(n));
        continue;
      }
      rows++;
      const fields = rec.fields;
      const get = (c: Column) => {
        const i = index![c];
        return i === -1 ? '' : (fields[i] ?? '').trim();
      };
      try {
        if (fields.length < Math.max(...Object.values(index)) + 1) throw invalid(`expected ${Math.max(...Object.values(index)) + 1} fields, found ${fields.length}`);
        batch.push(parseImportRow(rec.line, get, opts.timeZone, toUtc));
      } catch (err) {
        if (!(err instanceof PayError)) throw err;
        await imp.problem({ line: rec.line, orderNo: get('order_no') || undefined, refundNo: get('refund_no') || undefined, message: err.message });
      }
      if (batch.length >= STAGE_BATCH) {
        await imp.stage(batch);
        batch = [];
        progress.rows(rows);
      }
    }
    await imp.stage(batch);
    progress.rows(rows);
    if (!index) throw invalid(`${path} is empty`);
    progress.phase('checking');
    await imp.check();
    progress.done();
    const problems = await imp.problems();
    const base = { file: path, sha256, dryRun: Boolean(opts.dryRun), partial: Boolean(opts.partial), problems, ignoredColumns: ignored };
    if (imp.rejectedRows > 0 && !opts.partial) {
      const shown = problems.slice(0, 10).map((p) => `  line ${p.line}: ${p.message}`);
      const more = imp.rejectedRows > shown.length ? `\n  ... and ${imp.rejectedRows - shown.length} more` : '';
      throw invalid(`${imp.rejectedRows} of ${rows} row${rows === 1 ? '' : 's'} in ${path} cannot be imported; nothing was imported:\n${shown.join('\n')}${more}`, {
        hint: 'Fix these rows and import the file again, or pass --partial to import the good rows only.',
        details: { rows, rejected: imp.rejectedRows, problems },
      });
    }
    if (opts.dryRun) return { ...base, ...(await imp.counts(rows)) };
    return { ...base, ...(await imp.apply({ path, sha256 }, rows)) };
  } finally {
    progress.done();
    await imp.end();
  }
}

/** Human and JSON output of `orders import`. */
export function presentImport(r: ImportResult): Presentation {
  const blocks: Presentation['blocks'] = [
    {
      kind: 'fields',
      fields: [
        ['file', r.file],
        ['rows', r.rows],
        [r.dryRun ? 'would create orders' : 'orders created', r.ordersCreated],
        [r.dryRun ? 'would create refunds' : 'refunds created', r.refundsCreated],
        [r.dryRun ? 'would update' : 'updated', r.updated],
        ['unchanged', r.unchanged],
        ['rejected', r.rejected ? { text: String(r.rejected), tone: 'error' } : 0],
        ['ignored columns', r.ignoredColumns.length ? r.ignoredColumns.join(', ') : undefined],
      ],
    },
  ];
  if (r.problems.length) {
    blocks.push({
      kind: 'table',
      title: 'Rejected rows',
      columns: [
        { key: 'line', header: 'line', align: 'right' },
        { key: 'no', header: 'order / refund no' },
        { key: 'message', header: 'problem' },
      ],
      rows: r.problems.slice(0, 50).map((p) => ({ line: p.line, no: p.refundNo ?? p.orderNo ?? '', message: p.message })),
    });
    if (r.rejected > 50) blocks.push({ kind: 'text', tone: 'dim', text: `Showing 50 of ${r.rejected} rejected rows; --json lists up to ${r.problems.length}.` });
  }
  blocks.push(
    r.dryRun
      ? { kind: 'text', tone: 'dim', text: 'Dry run: nothing was written.' }
      : r.rejected
        ? { kind: 'text', tone: 'warn', text: `Imported the good rows; ${r.rejected} rejected row${r.rejected === 1 ? ' was' : 's were'} skipped.` }
        : { kind: 'text', tone: 'ok', text: r.ordersCreated + r.refundsCreated + r.updated ? 'Imported.' : 'Nothing new: the order book already had every row.' },
  );
  return {
    json: {
      file: r.file,
      sha256: r.sha256,
      dryRun: r.dryRun,
      partial: r.partial,
      rows: r.rows,
      ordersCreated: r.ordersCreated,
      refundsCreated: r.refundsCreated,
      updated: r.updated,
      unchanged: r.unchanged,
      rejected: r.rejected,
      problems: r.problems,
      ignoredColumns: r.ignoredColumns,
    },
    blocks,
    // Rejected rows are an input error even when the good ones were imported, so scripts notice.
    exitCode: r.rejected ? 2 : 0,
  };
}
