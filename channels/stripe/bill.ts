/**
 * Stripe statements, read as a stream and written in the same shapes:
 *
 * 1. Balance transactions (what `downloadBill` fetches from GET /v1/balance_transactions), saved
 *    as JSON lines: a header line, one balance transaction per line exactly as the API returned
 *    it (amounts in Stripe's integer units, `source` expanded), and an end line with the count,
 *    so a truncated download is detected:
 *      {"object":"pay.stripe_bill","version":1,"date":"2026-11-23","timeZone":"UTC","account":"acct_..."}
 *      {"id":"txn_...","object":"balance_transaction","amount":1234,"fee":66,"net":1168,"currency":"usd",...}
 *      {"object":"pay.stripe_bill_end","count":1}
 * 2. The itemized balance report CSV (Dashboard > Reports, report type
 *    `balance_change_from_activity.itemized.*`), amounts in major units, columns by name; the
 *    order number comes from `payment_metadata[order_no]` / `refund_metadata[order_no]` (the
 *    report has no payout metadata: payout rows carry their po_ id as the channel trade number).
 *
 * Rows are normalised to BillRow: money to the merchant positive, fee positive when charged.
 * Every row must satisfy net = gross - fee; a broken row, a missing end line, a foreign date or
 * account is a PayError INVALID_REQUEST (exit 2). Either shape is read row by row or a chunk of
 * the file at a time (`readStripeBill(...).batches()`).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type BatchedBillRows, batchedBillRows, type BillReader, type BillRow, type BillSource, type ReadBillOptions, type WriteBillOptions } from '../../src/channel/contract.js';
import { firstNonBlankChar, readCsvBatches } from '../../src/channel/csv.js';
import { readJsonLinesBill, writeJsonLinesBill, type JsonLinesBillFormat, type JsonLinesBillHeader } from '../../src/channel/json-lines-bill.js';
import { invalid, isPayError } from '../../src/core/errors.js';
import { currencyExponent, formatAmount, isKnownCurrency, parseAmount, plainMinor } from '../../src/core/money.js';
import { isoUtc, parseDate, utcToWallTime, wallTimeToUtc } from '../../src/core/time.js';
import { fromStripeAmount, stripeExponent, toStripeAmount } from './currency.js';

/** Format names `downloadBill` reports. */
export const FORMAT_BALANCE_TRANSACTIONS = 'stripe-balance-transactions';
export const FORMAT_ITEMIZED = 'stripe-itemized-csv';

/** The balance-transaction JSON lines `downloadBill` saves (src/channel/json-lines-bill.ts). */
const JSON_LINES: JsonLinesBillFormat = {
  header: 'pay.stripe_bill',
  provider: 'Stripe',
  label: 'Stripe balance-transaction file',
  damagedHint: 'The Stripe statement looks damaged or incomplete; download or export it again.',
  emptyHint: 'A Stripe balance-transaction file starts with its pay.stripe_bill header line.',
};

/** Columns of the itemized report that pay needs (others are ignored). */
const REQUIRED_COLUMNS = ['balance_transaction_id', 'currency', 'gross', 'fee', 'net', 'reporting_category'] as const;

/** Columns pay writes for the itemized report (a subset of Stripe's, in Stripe's order). */
export const ITEMIZED_COLUMNS = [
  'balance_transaction_id',
  'created_utc',
  'created',
  'available_on_utc',
  'available_on',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'source_id',
  'description',
  'charge_id',
  'payment_intent_id',
  'payment_metadata[order_no]',
  'refund_metadata[order_no]',
  'refund_metadata[refund_no]',
] as const;

function damaged(path: string, line: number, message: string) {
  return invalid(`${path}:${line}: ${message}`, { hint: 'The Stripe statement looks damaged or incomplete; download or export it again.' });
}

/** Kind of a balance transaction from its `type` / `reporting_category`. */
export function kindOf(typeOrCategory: string, amount: number): BillRow['kind'] {
  switch (typeOrCategory) {
    case 'charge':
    case 'payment':
      return 'payment';
    case 'refund':
    case 'payment_refund':
      return 'refund';
    case 'payout':
    case 'payout_reversal':
    case 'payout_cancel':
    case 'payout_failure':
      return 'payout';
    case 'fee':
    case 'stripe_fee':
    case 'application_fee':
    case 'tax':
      return 'fee';
    default:
      // Disputes, reversals and other adjustments: the sign says which way money moved.
      return amount === 0 ? 'fee' : 'adjustment';
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function metadata(obj: unknown, key: string): string | undefined {
  if (!obj || typeof obj !== 'object') return undefined;
  const m = (obj as Record<string, unknown>).metadata;
  return m && typeof m === 'object' ? str((m as Record<string, unknown>)[key]) : undefined;
}

/** Checks the day a row belongs to, in the bill's time zone. */
function checkDay(path: string, line: number, timeMs: number, date: string | undefined, timeZone: string): void {
  if (!date) return;
  const day = utcToWallTime(timeMs, timeZone).slice(0, 10);
  if (day !== date) wrongDay(path, line, day, timeZone, date);
}

function wrongDay(path: string, line: number, day: string, timeZone: string, date: string): never {
  throw invalid(`${path}:${line}: the row is dated ${day} (${timeZone}), but the bill should cover ${date}`, {
    hint: 'This statement is for another day (or a longer interval); export the report for exactly that day.',
  });
}

const DAY_MS = 86_400_000;
/** The instants whose UTC year has four digits (where utcToWallTime in UTC is the ISO text). */
const YEAR_1000 = Date.UTC(1000, 0, 1);
const YEAR_10000 = Date.UTC(10000, 0, 1);
/** Dates as far from the epoch as this are formatted by `toISOString` itself (its range ends at 8.64e15). */
const FAST_ISO_LIMIT = 8.64e15 - 2 * DAY_MS;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * What consecutive rows of one statement share, converted once: the currency (checked, with its
 * Stripe and pay exponents) and the ISO text of a time. Rows are in time order and many share a
 * second; `iso` reuses the last text for the same instant and the last day's `YYYY-MM-DDT` for
 * another instant of that UTC day (what `toISOString` gives, without a Date per row).
 */
export class StripeRowCache {
  /** The currency text last accepted (a fresh object before the first: equal to no field). */
  private currencyText: unknown = {};
  /** The current currency (uppercase ISO code), its Stripe exponent, and whether pay's is the same. */
  code = '';
  stripeExp = 2;
  sameExp = true;
  private lastMs = Number.NaN;
  private lastIso = '';
  private dayStart = Number.NaN;
  private dayPrefix = '';

  /**
   * Makes `text` (the row's currency cell or field) the current currency; false when it is not a
   * known currency (the caller words the error). A text equal to the last one is not checked again.
   */
  currency(text: unknown): boolean {
    if (text === this.currencyText) return true;
    if (typeof text !== 'string' || text === '') return false;
    const code = text.toUpperCase();
    if (!isKnownCurrency(code)) return false;
    this.code = code;
    this.stripeExp = stripeExponent(code);
    this.sameExp = this.stripeExp === currencyExponent(code);
    this.currencyText = text;
    return true;
  }

  /** An integer in Stripe's units of the current currency, in pay's minor units (see fromStripeAmount). */
  minor(amount: number): number {
    return this.sameExp && Number.isSafeInteger(amount) ? amount : fromStripeAmount(amount, this.code);
  }

  /** `isoUtc(ms)`. */
  iso(ms: number): string {
    if (ms === this.lastMs) return this.lastIso;
    const rest = ms - this.dayStart;
    let iso: string;
    if (rest >= 0 && rest < DAY_MS && Number.isInteger(rest)) {
      const s = Math.floor(rest / 1000);
      iso = `${this.dayPrefix}${PAD2[Math.floor(s / 3600)]}:${PAD2[Math.floor(s / 60) % 60]}:${PAD2[s % 60]}.${PAD3[rest % 1000]}Z`;
    } else {
      iso = isoUtc(ms);
      if (Number.isInteger(ms) && Math.abs(ms) < FAST_ISO_LIMIT) {
        this.dayStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
        this.dayPrefix = iso.slice(0, iso.indexOf('T') + 1);
      }
    }
    this.lastMs = ms;
    this.lastIso = iso;
    return iso;
  }
}

/**
 * Normalises one balance transaction (API shape). Throws a plain message for the caller to place.
 * `cache` carries conversions from one row to the next of a statement.
 */
export function balanceTransactionRow(txn: Record<string, unknown>, line: number, cache: StripeRowCache = new StripeRowCache()): BillRow {
  if (txn.object !== 'balance_transaction' || typeof txn.id !== 'string') throw new Error('not a balance_transaction object');
  if (!cache.currency(txn.currency)) throw new Error(`unknown currency ${String(txn.currency)}`);
  const currency = cache.code;
  const amount = txn.amount;
  const fee = txn.fee;
  const net = txn.net;
  const created = txn.created;
  if (!Number.isSafeInteger(amount)) throw new Error('amount is not an integer');
  if (!Number.isSafeInteger(fee)) throw new Error('fee is not an integer');
  if (!Number.isSafeInteger(net)) throw new Error('net is not an integer');
  if (!Number.isSafeInteger(created)) throw new Error('created is not an integer');
  if ((net as number) !== (amount as number) - (fee as number)) throw new Error(`net ${String(net)} is not amount ${String(amount)} minus fee ${String(fee)}`);
  const type = str(txn.reporting_category) ?? str(txn.type) ?? 'adjustment';
  const kind = kindOf(str(txn.type) ?? type, amount as number);
  const source = txn.source;
  const sourceObj = source && typeof source === 'object' ? (source as Record<string, unknown>) : undefined;
  const sourceId = typeof source === 'string' ? source : str(sourceObj?.id);
  const row: BillRow = {
    line,
    kind,
    amountMinor: cache.minor(amount as number),
    feeMinor: cache.minor(fee as number),
    currency,
    time: cache.iso((created as number) * 1000),
    status: str(txn.status),
  };
  const orderNo = metadata(sourceObj, 'order_no');
  if (orderNo) row.orderNo = orderNo;
  if (kind === 'payment') row.channelTradeNo = str(sourceObj?.payment_intent) ?? sourceId;
  else row.channelTradeNo = sourceId;
  if (kind === 'refund') {
    const refundNo = metadata(sourceObj, 'refund_no');
    if (refundNo) row.refundNo = refundNo;
  }
  return row;
}

const REPORT_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Parses a report time: `2026-11-23 10:00:00` (Stripe's CSV), or ISO 8601. */
function reportTime(text: string, timeZone: string): number {
  const t = text.trim();
  const m = REPORT_TIME.exec(t);
  // UTC needs no zone arithmetic (and Intl per row would dominate a million-row file).
  if (m && timeZone === 'UTC') return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  if (m) return wallTimeToUtc(t, timeZone);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`"${t.slice(0, 30)}" is not a time`);
  return ms;
}

/** The exact parse of a report amount (any form core/money accepts), in pay's minor units. */
function stripeDecimal(text: string, currency: string, label: string): number {
  // Reports write major units with Stripe's exponent (HUF "1000.00"); whole-unit currencies may
  // carry ".00", which is accepted only when the decimals are zeros.
  const inStripeUnits = parseAmount(text, currency, {
    allowNegative: true,
    allowZero: true,
    allowTrailingZeros: true,
    overrides: { [currency]: stripeExponent(currency) },
    label,
  });
  return fromStripeAmount(inStripeUnits, currency);
}

/** Cell `i` of a record, trimmed; '' for a column the report lacks (-1). */
function cell(fields: string[], i: number): string {
  return i < 0 ? '' : fields[i].trim();
}

/** The rows of an itemized report CSV, an array per batch of records parsed. */
async function* readItemizedChunks(source: BillSource, options: ReadBillOptions & { timeZone?: string }): AsyncGenerator<BillRow[]> {
  const path = source.path;
  const date = options.date;
  const zone = options.timeZone ?? 'UTC';
  let columns: Map<string, number> | undefined;
  // Column positions, resolved once from the header (-1: the report has no such column).
  let iCurrency = -1;
  let iGross = -1;
  let iFee = -1;
  let iNet = -1;
  let iCreatedUtc = -1;
  let iCreated = -1;
  let iCategory = -1;
  let iPaymentOrder = -1;
  let iRefundOrder = -1;
  let iTransferOrder = -1;
  let iRefundNo = -1;
  let iSource = -1;
  let iPaymentIntent = -1;
  let iCharge = -1;
  const cache = new StripeRowCache();
  // Rows are in time order and many share a second: the last time text parsed, and the last day
  // checked, are reused (undefined: none yet).
  let lastTimeText: string | undefined;
  let lastTimeUtc = false;
  let lastTimeMs = 0;
  let lastLocalChecked: string | undefined;
  let lastMsChecked = Number.NaN;
  const amount = (text: string, label: string): number => {
    const units = plainMinor(text, cache.stripeExp);
    if (!Number.isNaN(units)) return cache.sameExp ? units : fromStripeAmount(units, cache.code);
    return stripeDecimal(text, cache.code, label);
  };
  for await (const batch of readCsvBatches(path, { label: 'Stripe itemized report' })) {
    const out: BillRow[] = [];
    for (const rec of batch) {
      const f = rec.fields;
      if (!columns) {
        columns = new Map(f.map((name, i) => [name.trim(), i]));
        const missing = REQUIRED_COLUMNS.filter((c) => !columns!.has(c));
        if (!columns.has('created_utc') && !columns.has('created')) missing.push('created_utc' as never);
        if (missing.length) {
          throw damaged(path, rec.line, `not a Stripe itemized balance report: the header lacks ${missing.join(', ')}`);
        }
        const at = (name: string) => columns!.get(name) ?? -1;
        iCurrency = at('currency');
        iGross = at('gross');
        iFee = at('fee');
        iNet = at('net');
        iCreatedUtc = at('created_utc');
        iCreated = at('created');
        iCategory = at('reporting_category');
        iPaymentOrder = at('payment_metadata[order_no]');
        iRefundOrder = at('refund_metadata[order_no]');
        iTransferOrder = at('transfer_metadata[order_no]');
        iRefundNo = at('refund_metadata[refund_no]');
        iSource = at('source_id');
        iPaymentIntent = at('payment_intent_id');
        iCharge = at('charge_id');
        continue;
      }
      if (f.length !== columns.size) throw damaged(path, rec.line, `expected ${columns.size} fields, found ${f.length} (the file is truncated?)`);
      let row: BillRow;
      try {
        const currencyText = cell(f, iCurrency);
        if (!cache.currency(currencyText)) throw new Error(`unknown currency "${currencyText}"`);
        const currency = cache.code;
        const grossText = cell(f, iGross);
        const feeText = cell(f, iFee);
        const netText = cell(f, iNet);
        const gross = amount(grossText, 'gross');
        const fee = amount(feeText, 'fee');
        const net = amount(netText, 'net');
        if (net !== gross - fee) throw new Error(`net ${netText} is not gross ${grossText} minus fee ${feeText}`);
        const utcText = cell(f, iCreatedUtc);
        const localText = cell(f, iCreated);
        const timeText = utcText || localText;
        const timeUtc = utcText !== '';
        if (timeText !== lastTimeText || timeUtc !== lastTimeUtc) {
          lastTimeMs = reportTime(timeText, timeUtc ? 'UTC' : zone);
          lastTimeText = timeText;
          lastTimeUtc = timeUtc;
        }
        const timeMs = lastTimeMs;
        const time = cache.iso(timeMs);
        // The report's own local `created` column says which reporting day the row is in; without
        // it, the UTC time is placed in the configured zone.
        if (date && localText) {
          if (localText !== lastLocalChecked) {
            const localDay = localText.slice(0, 10);
            if (localDay !== date) {
              throw invalid(`${path}:${rec.line}: the row is dated ${localDay}, but the bill should cover ${date}`, {
                hint: 'This report is for another day (or a longer interval); export the report for exactly that day.',
              });
            }
            lastLocalChecked = localText;
          }
        } else if (date && timeMs !== lastMsChecked) {
          // In UTC the wall-clock day is the ISO text's date (no Intl per row) for four-digit years.
          if (zone === 'UTC' && timeMs >= YEAR_1000 && timeMs < YEAR_10000) {
            const day = time.slice(0, 10);
            if (day !== date) wrongDay(path, rec.line, day, zone, date);
          } else checkDay(path, rec.line, timeMs, date, zone);
          lastMsChecked = timeMs;
        }
        const category = cell(f, iCategory);
        const kind = kindOf(category, gross);
        row = { line: rec.line, kind, amountMinor: gross, feeMinor: fee, currency, time };
        const orderNo = cell(f, iPaymentOrder) || cell(f, iRefundOrder) || cell(f, iTransferOrder);
        if (orderNo) row.orderNo = orderNo;
        if (kind === 'refund') {
          const refundNo = cell(f, iRefundNo);
          if (refundNo) row.refundNo = refundNo;
          row.channelTradeNo = cell(f, iSource) || undefined;
        } else if (kind === 'payment') {
          row.channelTradeNo = cell(f, iPaymentIntent) || cell(f, iCharge) || cell(f, iSource) || undefined;
        } else row.channelTradeNo = cell(f, iSource) || undefined;
        row.status = category;
      } catch (err) {
        if (isPayError(err) && err.message.startsWith(`${path}:`)) throw err;
        throw damaged(path, rec.line, (err as Error).message);
      }
      out.push(row);
    }
    if (out.length) yield out;
  }
  if (!columns) throw invalid(`${path} is empty`, { hint: 'A Stripe itemized report starts with its header row (balance_transaction_id,...).' });
}

/**
 * Streams a Stripe statement (either shape) as normalised rows: row by row, or a chunk of the
 * file at a time (`batches()`, what reconciliation's packer takes: no promise and no generator
 * step per row).
 */
export function readStripeBill(source: BillSource, options: ReadBillOptions & { timeZone?: string } = {}): BatchedBillRows {
  return batchedBillRows(() => readStripeBillChunks(source, options));
}

/** The rows of a statement, an array per chunk of the file. */
async function* readStripeBillChunks(source: BillSource, options: ReadBillOptions & { timeZone?: string }): AsyncGenerator<BillRow[]> {
  if (options.date) parseDate(options.date);
  const first = await firstNonBlankChar(source.path, { label: 'Stripe statement' });
  if (first === undefined) throw invalid(`${source.path} is empty`, { hint: 'Give a Stripe itemized balance report (CSV) or a file saved by `pay reconcile --download`.' });
  if (first === '{') {
    const cache = new StripeRowCache();
    yield* readJsonLinesBill(source.path, JSON_LINES, options, (txn, line) => balanceTransactionRow(txn, line, cache)).batches();
  } else yield* readItemizedChunks(source, options);
}

/** A sink that respects back-pressure. */
function lineWriter(path: string) {
  const out = createWriteStream(path);
  return {
    async write(line: string) {
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    },
    async close() {
      out.end();
      await once(out, 'finish');
    },
  };
}

/** Writes balance transactions (API objects, streamed) as the JSON-lines bill; returns the count. */
export function writeBalanceTransactions(
  path: string,
  txns: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
  header: JsonLinesBillHeader,
): Promise<number> {
  return writeJsonLinesBill(path, JSON_LINES, txns, header);
}

/** The balance transaction (API shape, source expanded) Stripe would hold for a BillRow. */
export function rowToBalanceTransaction(r: BillRow, index: number): Record<string, unknown> {
  const amount = toStripeAmount(Math.abs(r.amountMinor), r.currency) * Math.sign(r.amountMinor);
  const fee = toStripeAmount(Math.abs(r.feeMinor), r.currency) * Math.sign(r.feeMinor);
  const created = Math.floor(Date.parse(r.time) / 1000);
  const type = r.kind === 'payment' ? 'charge' : r.kind === 'refund' ? 'refund' : r.kind === 'payout' ? 'payout' : r.kind === 'fee' ? 'stripe_fee' : 'adjustment';
  const sourceId = r.channelTradeNo ?? `${r.kind === 'refund' ? 're' : r.kind === 'payout' ? 'po' : 'ch'}_bill${index}`;
  const meta: Record<string, string> = {};
  if (r.orderNo) meta.order_no = r.orderNo;
  if (r.refundNo) meta.refund_no = r.refundNo;
  const source: Record<string, unknown> = { id: sourceId, object: r.kind === 'refund' ? 'refund' : r.kind === 'payout' ? 'payout' : 'charge', metadata: meta };
  if (r.kind === 'payment' && sourceId.startsWith('pi_')) {
    source.id = `ch_for_${sourceId.slice(3)}`;
    source.payment_intent = sourceId;
  }
  return {
    id: `txn_bill${String(index).padStart(6, '0')}`,
    object: 'balance_transaction',
    amount,
    available_on: created + 2 * 86400,
    created,
    currency: r.currency.toLowerCase(),
    description: null,
    fee,
    fee_details: fee ? [{ amount: fee, currency: r.currency.toLowerCase(), description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: amount - fee,
    reporting_category: type === 'stripe_fee' ? 'fee' : type,
    source,
    status: r.status === 'pending' ? 'pending' : 'available',
    type,
  };
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Formats a pay amount as the itemized report does: major units with Stripe's decimals. */
function reportAmount(amountMinor: number, currency: string): string {
  const stripeUnits = toStripeAmount(Math.abs(amountMinor), currency) * Math.sign(amountMinor);
  return formatAmount(stripeUnits, currency, { [currency]: stripeExponent(currency) });
}

/** `YYYY-MM-DD HH:MM:SS` in `zone` (a fast path for UTC). */
function wall(ms: number, zone: string): string {
  if (zone !== 'UTC') return utcToWallTime(ms, zone);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** Writes rows as an itemized balance report CSV (UTC reporting zone unless given). */
export async function writeItemized(path: string, rows: Iterable<BillRow>, options: { timeZone?: string } = {}): Promise<number> {
  const zone = options.timeZone ?? 'UTC';
  const w = lineWriter(path);
  await w.write(ITEMIZED_COLUMNS.map(csvField).join(','));
  let i = 0;
  for (const r of rows) {
    i++;
    const ms = Date.parse(r.time);
    const category = r.kind === 'payment' ? 'charge' : r.kind === 'adjustment' ? 'other_adjustment' : r.kind;
    const trade = r.channelTradeNo ?? '';
    const values: Record<(typeof ITEMIZED_COLUMNS)[number], string> = {
      balance_transaction_id: `txn_bill${String(i).padStart(6, '0')}`,
      created_utc: wall(ms, 'UTC'),
      created: wall(ms, zone),
      available_on_utc: wall(ms + 2 * 86400_000, 'UTC').slice(0, 10) + ' 00:00:00',
      available_on: wall(ms + 2 * 86400_000, zone).slice(0, 10) + ' 00:00:00',
      currency: r.currency.toLowerCase(),
      gross: reportAmount(r.amountMinor, r.currency),
      fee: reportAmount(r.feeMinor, r.currency),
      net: reportAmount(r.amountMinor - r.feeMinor, r.currency),
      reporting_category: category,
      source_id: r.kind === 'payment' && trade.startsWith('pi_') ? `ch_for_${trade.slice(3)}` : trade,
      description: r.kind === 'payment' ? `Payment for ${r.orderNo ?? 'order'}` : '',
      charge_id: r.kind === 'payment' && trade.startsWith('pi_') ? `ch_for_${trade.slice(3)}` : '',
      payment_intent_id: r.kind === 'payment' && trade.startsWith('pi_') ? trade : '',
      'payment_metadata[order_no]': r.kind === 'payment' ? (r.orderNo ?? '') : '',
      'refund_metadata[order_no]': r.kind === 'refund' ? (r.orderNo ?? '') : '',
      'refund_metadata[refund_no]': r.kind === 'refund' ? (r.refundNo ?? '') : '',
    };
    await w.write(ITEMIZED_COLUMNS.map((c) => csvField(values[c])).join(','));
  }
  await w.close();
  return i;
}

export const stripeBills: BillReader = {
  read: (source, options) => readStripeBill(source, options),
  /** Variants: `itemized` (default, the report CSV) or `balance-transactions` (JSON lines). */
  write: async (path, rows, options: WriteBillOptions) => {
    if (options.variant === 'balance-transactions' || options.variant === 'jsonl') {
      await writeBalanceTransactions(path, rows.map(rowToBalanceTransaction), { date: options.date, timeZone: 'UTC', account: options.merchantId });
    } else if (options.variant === undefined || options.variant === 'itemized' || options.variant === 'csv') {
      await writeItemized(path, rows);
    } else {
      throw invalid(`unknown Stripe bill variant "${options.variant}"`, { hint: 'Use itemized or balance-transactions.' });
    }
  },
};
