/**
 * What the reconciliation reports (HTML and xlsx) show, read from a saved run: its items as flat
 * facts, the counts and amounts of each discrepancy class, and the channel's runs over the last
 * days. Both renderers use the same facts and columns, so the page and the workbook agree.
 *
 * The reader is the saved-run API of the reconciliation store (`listRuns`, `items`); it may
 * answer synchronously or with promises, so this module works with either implementation.
 */
import { formatAmount } from '../core/money.js';
import { DISCREPANCY_CLASSES, type ItemClass } from '../reconcile/classify.js';
import type { RunExtras } from '../reconcile/report.js';
import type { ItemRecord, RunRecord } from '../store/reconcile-store.js';

/** The saved-run reads the reports need. */
export interface RunReader {
  listRuns(filter: { channel?: string; limit?: number }): RunRecord[] | Promise<RunRecord[]>;
  items(runId: number, classes: readonly ItemClass[], limit?: number): Iterable<ItemRecord> | AsyncIterable<ItemRecord>;
}

/** Items listed in an HTML page per table at most: past a few thousand rows a browser takes seconds to lay the table out again after each sort. The xlsx and `--format csv --out` hold them all. */
export const HTML_ITEMS = 5_000;
/** Days of history shown by default. */
export const DEFAULT_HISTORY_DAYS = 30;

/** One item, flattened for a table row. Amounts in minor units with their currency. */
export interface ItemFacts {
  class: string;
  kind: string;
  orderNo: string;
  refundNo: string;
  channelTradeNo: string;
  billLine?: number;
  billAmountMinor?: number;
  billFeeMinor?: number;
  billCurrency?: string;
  billStatus: string;
  billTime: string;
  booksAmountMinor?: number;
  booksCurrency?: string;
  booksStatus: string;
  booksTime: string;
  carriedFrom: string;
  note: string;
}

/** Flattens an item. */
export function itemFacts(item: ItemRecord): ItemFacts {
  return {
    class: item.class,
    kind: item.kind,
    orderNo: item.orderNo ?? '',
    refundNo: item.refundNo ?? '',
    channelTradeNo: item.channelTradeNo ?? '',
    billLine: item.bill?.line,
    billAmountMinor: item.bill?.amountMinor,
    billFeeMinor: item.bill?.feeMinor,
    billCurrency: item.bill?.currency,
    billStatus: item.bill?.status ?? '',
    billTime: item.bill?.time ?? '',
    booksAmountMinor: item.local?.amountMinor,
    booksCurrency: item.local?.currency,
    booksStatus: item.local?.status ?? '',
    booksTime: item.local?.time ?? '',
    carriedFrom: item.carriedFrom ?? '',
    note: item.note ?? '',
  };
}

/** A column of the item tables: text, a whole number, or an amount with the currency beside it. */
export type ItemColumn =
  | { key: keyof ItemFacts; header: string; type: 'text' | 'int' }
  | { key: 'billAmountMinor' | 'billFeeMinor' | 'booksAmountMinor'; header: string; type: 'money'; currency: 'billCurrency' | 'booksCurrency' };

/** Columns of the item tables, in order. */
export const ITEM_COLUMNS: readonly ItemColumn[] = [
  { key: 'class', header: 'class', type: 'text' },
  { key: 'kind', header: 'kind', type: 'text' },
  { key: 'orderNo', header: 'order no', type: 'text' },
  { key: 'refundNo', header: 'refund no', type: 'text' },
  { key: 'channelTradeNo', header: 'channel trade no', type: 'text' },
  { key: 'billLine', header: 'bill line', type: 'int' },
  { key: 'billAmountMinor', header: 'bill amount', type: 'money', currency: 'billCurrency' },
  { key: 'billFeeMinor', header: 'bill fee', type: 'money', currency: 'billCurrency' },
  { key: 'booksAmountMinor', header: 'books amount', type: 'money', currency: 'booksCurrency' },
  { key: 'billStatus', header: 'bill status', type: 'text' },
  { key: 'booksStatus', header: 'books status', type: 'text' },
  { key: 'billTime', header: 'bill time', type: 'text' },
  { key: 'booksTime', header: 'books time', type: 'text' },
  { key: 'carriedFrom', header: 'first seen', type: 'text' },
  { key: 'note', header: 'note', type: 'text' },
];

/** Count and amounts (per currency, minor units) of one class. */
export interface ClassFigures {
  class: ItemClass;
  count: number;
  /** Sum of each item's amount at stake: the bill's amount where the bill lists it, else the books'. Magnitudes. */
  amounts: Record<string, number>;
}

/** The amount an item puts at stake (magnitude) and its currency. */
export function stake(item: ItemRecord): { minor: number; currency: string } | undefined {
  if (item.bill) return { minor: Math.abs(item.bill.amountMinor), currency: item.bill.currency };
  if (item.local) return { minor: Math.abs(item.local.amountMinor), currency: item.local.currency };
  return undefined;
}

/** One day of the history. */
export interface HistoryDay {
  date: string;
  run?: RunRecord;
}

/** Everything the HTML report shows. */
export interface ReconReportData {
  run: RunRecord;
  extras: RunExtras;
  /** Discrepancy items (at most {@link HTML_ITEMS}). */
  items: ItemRecord[];
  itemsTotal: number;
  carriedOver: ItemRecord[];
  carriedOverTotal: number;
  resolved: ItemRecord[];
  resolvedTotal: number;
  /** Each discrepancy class, then carriedOver and resolved. */
  classes: ClassFigures[];
  /** Each day of the history window, oldest first, with the day's current run if there is one. */
  history: HistoryDay[];
  historyDays: number;
}

/** Classes shown per class in the report. */
export const REPORT_CLASSES: readonly ItemClass[] = [...DISCREPANCY_CLASSES, 'carriedOver', 'resolved'];

/** Reads a section's items: all of them are counted and summed, the first `keep` are kept. */
async function readItems(rs: RunReader, runId: number, classes: readonly ItemClass[], keep: number, figures: Map<ItemClass, ClassFigures>) {
  const kept: ItemRecord[] = [];
  let total = 0;
  for await (const item of rs.items(runId, classes)) {
    total++;
    if (kept.length < keep) kept.push(item);
    const f = figures.get(item.class);
    const s = stake(item);
    if (f) {
      f.count++;
      if (s) f.amounts[s.currency] = (f.amounts[s.currency] ?? 0) + s.minor;
    }
  }
  return { kept, total };
}

/** The days `date - days + 1` .. `date`. */
export function dayWindow(date: string, days: number): string[] {
  const end = Date.parse(`${date}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/** The channel's current runs over the `days` days up to the run's day. */
export async function runHistory(rs: RunReader, run: RunRecord, days: number): Promise<HistoryDay[]> {
  const window = dayWindow(run.date, days);
  // Newest first; several runs of a day exist only when a later file superseded an earlier one.
  const runs = await rs.listRuns({ channel: run.channel, limit: days * 4 + 20 });
  const byDay = new Map<string, RunRecord>();
  for (const r of runs) {
    if (r.date < window[0] || r.date > run.date) continue;
    // The shown run stands for its day even when superseded; other days show their current run.
    if (r.date === run.date) byDay.set(r.date, run);
    else if (!r.supersededBy && !byDay.has(r.date)) byDay.set(r.date, r);
  }
  return window.map((date) => ({ date, run: byDay.get(date) }));
}

/** Gathers the HTML report's data. */
export async function collectReconData(rs: RunReader, run: RunRecord, extras: RunExtras, historyDays = DEFAULT_HISTORY_DAYS, keep = HTML_ITEMS): Promise<ReconReportData> {
  const figures = new Map<ItemClass, ClassFigures>(REPORT_CLASSES.map((c) => [c, { class: c, count: 0, amounts: {} }]));
  const items = await readItems(rs, run.id, DISCREPANCY_CLASSES, keep, figures);
  const carried = await readItems(rs, run.id, ['carriedOver'], keep, figures);
  const resolved = await readItems(rs, run.id, ['resolved'], keep, figures);
  return {
    run,
    extras,
    items: items.kept,
    itemsTotal: items.total,
    carriedOver: carried.kept,
    carriedOverTotal: carried.total,
    resolved: resolved.kept,
    resolvedTotal: resolved.total,
    classes: [...figures.values()],
    history: await runHistory(rs, run, historyDays),
    historyDays,
  };
}

/** Every currency an amount map mentions, sorted. */
export function currenciesOf(classes: readonly ClassFigures[]): string[] {
  return [...new Set(classes.flatMap((c) => Object.keys(c.amounts)))].sort();
}

/** `1234.5 CNY`-style text for a minor amount (plain decimal; a currency pay does not know shows minor units). */
export function amountText(minor: number, currency: string): string {
  try {
    return formatAmount(minor, currency);
  } catch {
    return String(minor);
  }
}
