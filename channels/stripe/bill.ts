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
 * account is a PayError INVALID_REQUEST (exit 2).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { BillReader, BillRow, BillSource, ReadBillOptions, WriteBillOptions } from '../../src/channel/contract.js';
import { firstNonBlankChar, readCsvRecords } from '../../src/channel/csv.js';
import { readJsonLinesBill, writeJsonLinesBill, type JsonLinesBillFormat, type JsonLinesBillHeader } from '../../src/channel/json-lines-bill.js';
import { invalid, isPayError } from '../../src/core/errors.js';
import { formatAmount, isKnownCurrency, parseAmount } from '../../src/core/money.js';
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
  if (day !== date) {
    throw invalid(`${path}:${line}: the row is dated ${day} (${timeZone}), but the bill should cover ${date}`, {
      hint: 'This statement is for another day (or a longer interval); export the report for exactly that day.',
    });
  }
}

/** Normalises one balance transaction (API shape). Throws a plain message for the caller to place. */
export function balanceTransactionRow(txn: Record<string, unknown>, line: number): BillRow {
  if (txn.object !== 'balance_transaction' || typeof txn.id !== 'string') throw new Error('not a balance_transaction object');
  const currency = str(txn.currency)?.toUpperCase();
  if (!currency || !isKnownCurrency(currency)) throw new Error(`unknown currency ${String(txn.currency)}`);
  for (const k of ['amount', 'fee', 'net', 'created'] as const) {
    if (typeof txn[k] !== 'number' || !Number.isSafeInteger(txn[k])) throw new Error(`${k} is not an integer`);
  }
  const amount = txn.amount as number;
  const fee = txn.fee as number;
  if ((txn.net as number) !== amount - fee) throw new Error(`net ${String(txn.net)} is not amount ${amount} minus fee ${fee}`);
  const type = str(txn.reporting_category) ?? str(txn.type) ?? 'adjustment';
  const kind = kindOf(str(txn.type) ?? type, amount);
  const source = txn.source;
  const sourceObj = source && typeof source === 'object' ? (source as Record<string, unknown>) : undefined;
  const sourceId = typeof source === 'string' ? source : str(sourceObj?.id);
  const row: BillRow = {
    line,
    kind,
    amountMinor: fromStripeAmount(amount, currency),
    feeMinor: fromStripeAmount(fee, currency),
    currency,
    time: isoUtc((txn.created as number) * 1000),
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

/** Parses a report time: `2026-11-23 10:00:00` (Stripe's CSV), or ISO 8601. */
function reportTime(text: string, timeZone: string): number {
  const t = text.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?$/.exec(t);
  // UTC needs no zone arithmetic (and Intl per row would dominate a million-row file).
  if (m && timeZone === 'UTC') return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0));
  if (m) return wallTimeToUtc(t, timeZone);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`"${t.slice(0, 30)}" is not a time`);
  return ms;
}

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

async function* readItemized(source: BillSource, options: ReadBillOptions & { timeZone?: string }): AsyncGenerator<BillRow> {
  const path = source.path;
  let columns: Map<string, number> | undefined;
  for await (const rec of readCsvRecords(path, { label: 'Stripe itemized report' })) {
    if (!columns) {
      columns = new Map(rec.fields.map((name, i) => [name.trim(), i]));
      const missing = REQUIRED_COLUMNS.filter((c) => !columns!.has(c));
      if (!columns.has('created_utc') && !columns.has('created')) missing.push('created_utc' as never);
      if (missing.length) {
        throw damaged(path, rec.line, `not a Stripe itemized balance report: the header lacks ${missing.join(', ')}`);
      }
      continue;
    }
    if (rec.fields.length !== columns.size) throw damaged(path, rec.line, `expected ${columns.size} fields, found ${rec.fields.length} (the file is truncated?)`);
    const get = (name: string): string => {
      const i = columns!.get(name);
      return i === undefined ? '' : rec.fields[i].trim();
    };
    let row: BillRow;
    try {
      const currency = get('currency').toUpperCase();
      if (!isKnownCurrency(currency)) throw new Error(`unknown currency "${get('currency')}"`);
      const gross = stripeDecimal(get('gross'), currency, 'gross');
      const fee = stripeDecimal(get('fee'), currency, 'fee');
      const net = stripeDecimal(get('net'), currency, 'net');
      if (net !== gross - fee) throw new Error(`net ${get('net')} is not gross ${get('gross')} minus fee ${get('fee')}`);
      const utcText = get('created_utc');
      const timeMs = utcText ? reportTime(utcText, 'UTC') : reportTime(get('created'), options.timeZone ?? 'UTC');
      // The report's own local `created` column says which reporting day the row is in; without
      // it, the UTC time is placed in the configured zone.
      const localText = get('created');
      if (options.date && localText) {
        const localDay = localText.slice(0, 10);
        if (localDay !== options.date) {
          throw invalid(`${path}:${rec.line}: the row is dated ${localDay}, but the bill should cover ${options.date}`, {
            hint: 'This report is for another day (or a longer interval); export the report for exactly that day.',
          });
        }
      } else checkDay(path, rec.line, timeMs, options.date, options.timeZone ?? 'UTC');
      const category = get('reporting_category');
      const kind = kindOf(category, gross);
      row = { line: rec.line, kind, amountMinor: gross, feeMinor: fee, currency, time: isoUtc(timeMs) };
      const orderNo = get('payment_metadata[order_no]') || get('refund_metadata[order_no]') || get('transfer_metadata[order_no]');
      if (orderNo) row.orderNo = orderNo;
      if (kind === 'refund') {
        const refundNo = get('refund_metadata[refund_no]');
        if (refundNo) row.refundNo = refundNo;
        row.channelTradeNo = get('source_id') || undefined;
      } else if (kind === 'payment') {
        row.channelTradeNo = get('payment_intent_id') || get('charge_id') || get('source_id') || undefined;
      } else row.channelTradeNo = get('source_id') || undefined;
      row.status = category;
    } catch (err) {
      if (isPayError(err) && err.message.startsWith(`${path}:`)) throw err;
      throw damaged(path, rec.line, (err as Error).message);
    }
    yield row;
  }
  if (!columns) throw invalid(`${path} is empty`, { hint: 'A Stripe itemized report starts with its header row (balance_transaction_id,...).' });
}

/** Streams a Stripe statement (either shape) as normalised rows. */
export async function* readStripeBill(source: BillSource, options: ReadBillOptions & { timeZone?: string } = {}): AsyncGenerator<BillRow> {
  if (options.date) parseDate(options.date);
  const first = await firstNonBlankChar(source.path, { label: 'Stripe statement' });
  if (first === undefined) throw invalid(`${source.path} is empty`, { hint: 'Give a Stripe itemized balance report (CSV) or a file saved by `pay reconcile --download`.' });
  if (first === '{') yield* readJsonLinesBill(source.path, JSON_LINES, options, balanceTransactionRow);
  else yield* readItemized(source, options);
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
