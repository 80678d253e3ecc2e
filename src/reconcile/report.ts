/**
 * The reconciliation report in its three shapes: the JSON document (`--json`, `--format json`),
 * CSV of the items (`--format csv`), and tables for people. Items are read back from the saved
 * run, so `pay reconcile show <run>` prints exactly what the run printed, and files written with
 * `--out` are streamed from the database whatever their size.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { formatAmount, moneyJson } from '../core/money.js';
import { invalid } from '../core/errors.js';
import { csvLine } from '../output/csv.js';
import { formatBlocks, type Block, type Cell } from '../output/render.js';
import type { CurrencyTotals, ItemRecord, ReconcileStore, RunRecord, SideTotals } from '../store/reconcile-store.js';
import { DISCREPANCY_CLASSES, SUMMARY_CLASSES, type ItemClass } from './classify.js';

/** Report formats. */
export type ReportFormat = 'table' | 'json' | 'csv';

/** Items printed inline (stdout) at most; `--out` files hold them all. */
export const INLINE_ITEMS = 10_000;
/** Items per class shown in the human tables. */
const TABLE_ITEMS = 50;

/** Checks a `--format` value. */
export function parseFormat(value: string | undefined, out?: string): ReportFormat {
  if (value === undefined) {
    if (out && /\.csv$/i.test(out)) return 'csv';
    if (out && /\.json$/i.test(out)) return 'json';
    return 'table';
  }
  if (value === 'table' || value === 'json' || value === 'csv') return value;
  throw invalid(`--format "${value}" is not table, json or csv`);
}

const money = (minor: number | undefined, currency: string | undefined) => {
  if (minor === undefined || currency === undefined) return undefined;
  try {
    return moneyJson(minor, currency);
  } catch {
    return { amount: String(minor), amountMinor: minor, currency };
  }
};

/** The JSON shape of an item. */
export function itemJson(item: ItemRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    class: item.class,
    kind: item.kind,
    orderNo: item.orderNo ?? null,
    refundNo: item.refundNo ?? null,
    channelTradeNo: item.channelTradeNo ?? null,
    local: item.local ? { status: item.local.status, ...money(item.local.amountMinor, item.local.currency), time: item.local.time ?? null } : null,
    channel: item.bill
      ? {
          line: item.bill.line,
          ...money(item.bill.amountMinor, item.bill.currency),
          fee: money(item.bill.feeMinor, item.bill.currency)?.amount,
          feeMinor: item.bill.feeMinor,
          time: item.bill.time,
          status: item.bill.status ?? null,
        }
      : null,
  };
  if (item.note) out.note = item.note;
  if (item.carriedFrom) out.carriedFrom = item.carriedFrom;
  if (item.closedByRun) out.closedByRun = item.closedByRun;
  return out;
}

function sideJson(t: SideTotals, currency: string, withFees: boolean): Record<string, unknown> {
  const f = (n: number) => formatAmount(n, currency);
  const out: Record<string, unknown> = {
    count: t.count,
    gross: f(t.grossMinor),
    grossMinor: t.grossMinor,
    refunds: f(t.refundsMinor),
    refundsMinor: t.refundsMinor,
    payouts: f(t.payoutsMinor),
    payoutsMinor: t.payoutsMinor,
  };
  if (withFees) {
    out.fees = f(t.feesMinor);
    out.feesMinor = t.feesMinor;
    out.adjustments = f(t.adjustmentsMinor);
    out.adjustmentsMinor = t.adjustmentsMinor;
  }
  out.net = f(t.netMinor);
  out.netMinor = t.netMinor;
  return out;
}

/** The JSON shape of per-currency totals (the books record no fees). */
export function totalsJson(totals: CurrencyTotals[]): Record<string, unknown>[] {
  return totals.map((t) => ({ currency: t.currency, bill: sideJson(t.bill, t.currency, true), books: sideJson(t.books, t.currency, false) }));
}

/** The seven summary counts, exactly. */
export function summaryJson(run: RunRecord): Record<string, number> {
  return Object.fromEntries(SUMMARY_CLASSES.map((c) => [c, run[c]]));
}

/** Number of discrepancies of a run. */
export function discrepancies(run: RunRecord): number {
  return DISCREPANCY_CLASSES.reduce((n, c) => n + run[c], 0);
}

/** The items of an async iterable, in order. */
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Extra facts a fresh run knows (a saved run shown later does not). */
export interface RunExtras {
  replaced?: number;
  superseded?: number[];
  outstanding?: number;
}

/** The JSON report, with at most `limit` items inline. */
export async function reportJson(run: RunRecord, rs: ReconcileStore, extras: RunExtras = {}, limit = INLINE_ITEMS): Promise<Record<string, unknown>> {
  const itemsTotal = await rs.countItems(run.id, DISCREPANCY_CLASSES);
  const items = (await collect(rs.items(run.id, DISCREPANCY_CLASSES, limit))).map(itemJson);
  const out: Record<string, unknown> = {
    runId: run.id,
    channel: run.channel,
    date: run.date,
    timeZone: run.timeZone,
    bill: { path: run.billPath, format: run.billFormat, source: run.source, sha256: run.billSha256, bytes: run.billBytes, rows: run.billRows, ...(run.mappingSha256 ? { mappingSha256: run.mappingSha256 } : {}) },
    summary: summaryJson(run),
    reconciled: discrepancies(run) === 0,
    totals: totalsJson(run.totals),
    items,
    itemsTotal,
    carriedOver: (await collect(rs.items(run.id, ['carriedOver'], limit))).map(itemJson),
    resolved: (await collect(rs.items(run.id, ['resolved'], limit))).map(itemJson),
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
  if (itemsTotal > items.length) out.itemsTruncated = true;
  if (run.supersededBy) out.supersededBy = run.supersededBy;
  if (extras.replaced !== undefined) out.replacedRun = extras.replaced;
  if (extras.superseded?.length) out.supersededRuns = extras.superseded;
  if (extras.outstanding !== undefined) out.outstanding = extras.outstanding;
  return out;
}

const CSV_COLUMNS = [
  'run_id',
  'class',
  'kind',
  'order_no',
  'refund_no',
  'channel_trade_no',
  'bill_line',
  'bill_amount',
  'bill_fee',
  'bill_currency',
  'bill_time',
  'bill_status',
  'local_status',
  'local_amount',
  'local_currency',
  'local_time',
  'carried_from',
  'note',
];

function csvRow(item: ItemRecord): string {
  const amt = (minor: number | undefined, currency: string | undefined) => (minor === undefined || !currency ? '' : formatAmount(minor, currency));
  return csvLine([
    item.runId,
    item.class,
    item.kind,
    item.orderNo,
    item.refundNo,
    item.channelTradeNo,
    item.bill?.line,
    amt(item.bill?.amountMinor, item.bill?.currency),
    amt(item.bill?.feeMinor, item.bill?.currency),
    item.bill?.currency,
    item.bill?.time,
    item.bill?.status,
    item.local?.status,
    amt(item.local?.amountMinor, item.local?.currency),
    item.local?.currency,
    item.local?.time,
    item.carriedFrom,
    item.note,
  ]);
}

/** Classes the CSV lists: discrepancies, then timing items and resolutions. */
const CSV_CLASSES: readonly ItemClass[] = [...DISCREPANCY_CLASSES, 'carriedOver', 'resolved'];

/** The CSV report (every item) as text, at most `limit` items. */
export async function reportCsv(run: RunRecord, rs: ReconcileStore, limit = INLINE_ITEMS): Promise<string> {
  let text = csvLine(CSV_COLUMNS);
  for await (const item of rs.items(run.id, CSV_CLASSES, limit)) text += csvRow(item);
  return text;
}

/** Writes the full report to `path`, streaming items from the database. */
export async function writeReportFile(path: string, format: ReportFormat, run: RunRecord, rs: ReconcileStore, extras: RunExtras = {}): Promise<void> {
  const out = createWriteStream(path);
  const failed = new Promise<never>((_, reject) => out.once('error', (err) => reject(invalid(`cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? err.message})`))));
  failed.catch(() => {});
  const write = async (text: string) => {
    if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
  };
  try {
    if (format === 'csv') {
      await write(csvLine(CSV_COLUMNS));
      for await (const item of rs.items(run.id, CSV_CLASSES)) await write(csvRow(item));
    } else if (format === 'json') {
      // The document of reportJson, with every item: the arrays are streamed between the fields.
      const head = await reportJson(run, rs, extras, 0);
      const { items: _i, carriedOver: _c, resolved: _r, itemsTruncated: _t, ...rest } = head;
      const body = JSON.stringify(rest, null, 2);
      await write(`${body.slice(0, -2)},\n`);
      const arrays: [string, readonly ItemClass[]][] = [
        ['items', DISCREPANCY_CLASSES],
        ['carriedOver', ['carriedOver']],
        ['resolved', ['resolved']],
      ];
      for (const [i, [name, classes]] of arrays.entries()) {
        await write(`  "${name}": [`);
        let first = true;
        for await (const item of rs.items(run.id, classes)) {
          await write(`${first ? '\n' : ',\n'}    ${JSON.stringify(itemJson(item))}`);
          first = false;
        }
        await write(`${first ? '' : '\n  '}]${i < arrays.length - 1 ? ',' : ''}\n`);
      }
      await write('}\n');
    } else {
      await write(`${formatBlocks(await reportBlocks(run, rs, extras, Number.MAX_SAFE_INTEGER), false)}\n`);
    }
  } finally {
    out.end();
  }
  await Promise.race([once(out, 'close'), failed]);
}

function moneyCell(minor: number | undefined, currency: string | undefined): string {
  if (minor === undefined || currency === undefined) return '';
  return `${formatAmount(minor, currency)} ${currency}`;
}

const CLASS_TITLE: Record<string, string> = {
  missingLocal: 'Missing in the books (the channel lists them)',
  missingChannel: 'Missing at the channel (the books have them settled)',
  amountMismatch: 'Amount mismatches',
  statusMismatch: 'Status mismatches',
  currencyMismatch: 'Currency mismatches',
  duplicate: 'Duplicate bill rows',
  carriedOver: 'Carried over (settled near midnight: expected in the next bill)',
  resolved: 'Resolved (open items of earlier days closed by this run)',
};

function itemTable(title: string, items: ItemRecord[], total: number, runId: number): Block[] {
  const rows: Record<string, Cell>[] = items.map((i) => ({
    no: i.refundNo ? `${i.orderNo ?? ''} / ${i.refundNo}` : (i.orderNo ?? i.channelTradeNo ?? ''),
    kind: i.kind,
    line: i.bill?.line,
    bill: moneyCell(i.bill?.amountMinor, i.bill?.currency),
    books: moneyCell(i.local?.amountMinor, i.local?.currency),
    status: i.local ? `${i.bill?.status ?? (i.bill ? 'billed' : '-')} / ${i.local.status}` : (i.bill?.status ?? ''),
    note: i.carriedFrom && !i.note?.includes(i.carriedFrom) ? `${i.note ?? ''} (from ${i.carriedFrom})` : i.note,
  }));
  const blocks: Block[] = [
    {
      kind: 'table',
      title: `${title}: ${total}`,
      columns: [
        { key: 'no', header: 'order no / refund no' },
        { key: 'kind', header: 'kind' },
        { key: 'line', header: 'bill line', align: 'right' },
        { key: 'bill', header: 'bill', align: 'right' },
        { key: 'books', header: 'books', align: 'right' },
        { key: 'status', header: 'status bill / books' },
        { key: 'note', header: 'note' },
      ],
      rows,
    },
  ];
  if (total > items.length) blocks.push({ kind: 'text', tone: 'dim', text: `... ${total - items.length} more: pay reconcile show ${runId} --format csv --out items.csv` });
  return blocks;
}

/** Tables for people. */
export async function reportBlocks(run: RunRecord, rs: ReconcileStore, extras: RunExtras = {}, perClass = TABLE_ITEMS): Promise<Block[]> {
  const blocks: Block[] = [];
  const n = discrepancies(run);
  blocks.push({
    kind: 'fields',
    fields: [
      ['run', `${run.id}${run.supersededBy ? ` (superseded by run ${run.supersededBy})` : ''}${extras.replaced !== undefined ? ` (replaces run ${extras.replaced}, same file)` : ''}`],
      ['channel', run.channel],
      ['business day', `${run.date} (${run.timeZone})`],
      ['bill', `${run.billPath} (${run.billFormat}, ${run.billRows.toLocaleString('en-US')} rows, sha256 ${run.billSha256.slice(0, 12)}…)`],
    ],
  });
  blocks.push({
    kind: 'table',
    title: 'Summary',
    columns: [
      { key: 'class', header: 'class' },
      { key: 'count', header: 'count', align: 'right' },
    ],
    rows: [
      ...SUMMARY_CLASSES.map((c) => ({ class: c, count: { text: run[c].toLocaleString('en-US'), tone: c === 'matched' ? undefined : run[c] ? ('error' as const) : ('dim' as const) } })),
      { class: 'carriedOver', count: { text: String(run.carriedOver), tone: run.carriedOver ? ('warn' as const) : ('dim' as const) } },
      { class: 'resolved', count: { text: String(run.resolved), tone: run.resolved ? ('ok' as const) : ('dim' as const) } },
    ],
  });
  if (run.totals.length) {
    const f = (minor: number, c: string) => formatAmount(minor, c);
    blocks.push({
      kind: 'table',
      title: 'Totals',
      columns: [
        { key: 'currency', header: 'currency' },
        { key: 'side', header: 'side' },
        { key: 'count', header: 'rows', align: 'right' },
        { key: 'gross', header: 'gross', align: 'right' },
        { key: 'refunds', header: 'refunds', align: 'right' },
        { key: 'payouts', header: 'payouts', align: 'right' },
        { key: 'fees', header: 'fees', align: 'right' },
        { key: 'net', header: 'net', align: 'right' },
      ],
      rows: run.totals.flatMap((t) => [
        { currency: t.currency, side: 'bill', count: t.bill.count, gross: f(t.bill.grossMinor, t.currency), refunds: f(t.bill.refundsMinor, t.currency), payouts: f(t.bill.payoutsMinor, t.currency), fees: f(t.bill.feesMinor, t.currency), net: f(t.bill.netMinor, t.currency) },
        { currency: '', side: 'books', count: t.books.count, gross: f(t.books.grossMinor, t.currency), refunds: f(t.books.refundsMinor, t.currency), payouts: f(t.books.payoutsMinor, t.currency), fees: '', net: f(t.books.netMinor, t.currency) },
      ]),
    });
  }
  for (const c of [...DISCREPANCY_CLASSES, 'carriedOver', 'resolved'] as const) {
    const total = await rs.countItems(run.id, [c]);
    if (total === 0) continue;
    blocks.push(...itemTable(CLASS_TITLE[c], await collect(rs.items(run.id, [c], perClass)), total, run.id));
  }
  if (extras.outstanding) blocks.push({ kind: 'text', tone: 'dim', text: `${extras.outstanding} item${extras.outstanding === 1 ? '' : 's'} of ${run.channel} remain open (this and earlier days); later runs close them as bills and books catch up.` });
  blocks.push(
    n === 0
      ? { kind: 'text', tone: 'ok', text: `Reconciled: every row matched${run.carriedOver ? ` (${run.carriedOver} carried over to the next day)` : ''}.` }
      : { kind: 'text', tone: 'error', text: `${n} discrepanc${n === 1 ? 'y' : 'ies'} to look at.` },
  );
  return blocks;
}
