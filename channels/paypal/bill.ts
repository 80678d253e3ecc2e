/**
 * PayPal statements, read as streams (bill-writer.ts writes them in the same shapes):
 *
 * 1. The Settlement Report (STL, `STL-yyyymmdd.sequence.version.CSV` on PayPal's SFTP), UTF-8
 *    (with or without a BOM) or UTF-16. Every record starts with its type:
 *      RH report header  (generation time, reporting window, account id, report version)
 *      FH file header    (file sequence)
 *      SH section header (period start, period end, account id, partner account id)
 *      CH column header  (names of the SB columns; matched by name, "Transaction  Debit or
 *                         Credit" keeps PayPal's double space)
 *      SB section body   (one transaction)
 *      SF section footer (per currency: total gross credit, gross debit, fee credit, fee debit,
 *                         then balances)
 *      SC section record count, RF report footer (per currency totals), RC report record count,
 *      FF file footer (record count of the file)
 *    Amounts are unsigned integers with two implied decimals for every currency ("100,00 yen and
 *    $100.00 USD are both represented as 10000"), signed by their CR/DR column.
 * 2. The transactions API (GET /v1/reporting/transactions), which `downloadBill` saves as JSON
 *    lines: a header line, each `transaction_details` element as PayPal returned it, and an end
 *    line with the count:
 *      {"object":"pay.paypal_bill","version":1,"date":"2026-11-23","timeZone":"UTC","account":"..."}
 *      {"transaction_info":{"transaction_id":"...","transaction_event_code":"T0006",...},...}
 *      {"object":"pay.paypal_bill_end","count":1}
 *
 * Our order number travels as the capture's `invoice_id` and `custom_id`, and a refund's
 * `custom_id` (with our refund number as its `invoice_id`), so both shapes carry it. Rows become
 * BillRows (money to the merchant positive, fee positive when charged). Totals, counts and footers
 * are cross-checked; a damaged, truncated, foreign or empty file is a PayError INVALID_REQUEST.
 */
import type { BillReader, BillRow, BillSource, ReadBillOptions, WriteBillOptions } from '../../src/channel/contract.js';
import { firstNonBlankChar, readCsvRecords } from '../../src/channel/csv.js';
import { readJsonLinesBill, type JsonLinesBillFormat } from '../../src/channel/json-lines-bill.js';
import { invalid } from '../../src/core/errors.js';
import { convertMinor, currencyExponent, isKnownCurrency } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { fromPaypalValue } from './currency.js';

export const FORMAT_TRANSACTIONS = 'paypal-transactions';

/** The transactions JSON lines `downloadBill` saves (src/channel/json-lines-bill.ts). */
export const JSON_LINES: JsonLinesBillFormat = {
  header: 'pay.paypal_bill',
  provider: 'PayPal',
  label: 'PayPal transactions file',
  damagedHint: 'The PayPal statement looks damaged or incomplete; download it again.',
  emptyHint: 'Give a PayPal settlement report (STL) or a file saved by `pay reconcile --download`.',
};

/** STL amounts carry two implied decimals whatever the currency. */
export const STL_EXPONENT = 2;

/** The SB columns pay writes (version 9 of the report, in PayPal's order). */
export const STL_COLUMNS = [
  'Transaction ID',
  'Invoice ID',
  'PayPal Reference ID',
  'PayPal Reference ID Type',
  'Transaction Event Code',
  'Transaction Initiation Date',
  'Transaction Completion Date',
  'Transaction  Debit or Credit',
  'Gross Transaction Amount',
  'Gross Transaction Currency',
  'Fee Debit or Credit',
  'Fee Amount',
  'Fee Currency',
  'Custom Field',
  'Consumer ID',
  'Payment Tracking ID',
  'Store ID',
  'Bank Reference ID',
  'Credit Transactional Fee',
  'Credit Promotional Fee',
  'Credit Term',
] as const;

function damaged(path: string, line: number, message: string) {
  return invalid(`${path}:${line}: ${message}`, { hint: 'The PayPal statement looks damaged or incomplete; download it again.' });
}

/** Kind of a transaction from its T-code and direction. */
export function kindOf(eventCode: string, credit: boolean): BillRow['kind'] {
  const group = eventCode.slice(0, 3);
  if (group === 'T11' || group === 'T12') return credit ? 'adjustment' : 'refund';
  if (group === 'T04') return 'payout';
  if (group === 'T00') return credit ? 'payment' : 'payout';
  if (group === 'T01') return 'fee';
  return 'adjustment';
}

/** A minor-unit amount of the STL (two implied decimals) in pay's exponent. */
function stlMinor(text: string, currency: string, label: string): number {
  const t = text.trim();
  if (t === '') return 0;
  if (!/^\d{1,17}$/.test(t)) throw new Error(`${label} "${t.slice(0, 20)}" is not an unsigned integer amount`);
  try {
    return convertMinor(Number(t), STL_EXPONENT, currencyExponent(currency));
  } catch {
    throw new Error(`${label} ${t} (${currency}) has a fraction ${currency} cannot hold`);
  }
}

/** `2026/11/23 10:00:00 -0800` -> ms. */
export function stlTime(text: string): number {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2}):?(\d{2})$/.exec(text.trim());
  if (!m) throw new Error(`"${text.slice(0, 30)}" is not a report time (YYYY/MM/DD HH:MM:SS +ZZZZ)`);
  const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const offset = (+m[8] * 60 + +m[9]) * (m[7] === '-' ? -1 : 1);
  return utc - offset * 60_000;
}

/** The calendar date written in a report time, in the report's own offset. */
function stlDate(text: string): string {
  const m = /^(\d{4})\/(\d{2})\/(\d{2})/.exec(text.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : '';
}

function direction(text: string, label: string): boolean {
  const t = text.trim().toUpperCase();
  if (t === 'CR') return true;
  if (t === 'DR') return false;
  throw new Error(`${label} "${text.slice(0, 10)}" is neither CR nor DR`);
}

export interface Totals {
  grossCredit: number;
  grossDebit: number;
  feeCredit: number;
  feeDebit: number;
}

const emptyTotals = (): Totals => ({ grossCredit: 0, grossDebit: 0, feeCredit: 0, feeDebit: 0 });

export function addTotals(map: Map<string, Totals>, currency: string, gross: number, grossCr: boolean, fee: number, feeCr: boolean, feeCurrency: string): void {
  const t = map.get(currency) ?? emptyTotals();
  if (grossCr) t.grossCredit += gross;
  else t.grossDebit += gross;
  map.set(currency, t);
  const f = map.get(feeCurrency) ?? emptyTotals();
  if (feeCr) f.feeCredit += fee;
  else f.feeDebit += fee;
  map.set(feeCurrency, f);
}

/** Checks an SF/RF record's totals (in the file's raw two-decimal units) against what the rows sum to. */
function checkFooter(path: string, line: number, fields: string[], sums: Map<string, Totals>, what: string): void {
  const currency = fields[1]?.trim();
  if (!currency) throw damaged(path, line, `${what} has no currency`);
  const expected = sums.get(currency) ?? emptyTotals();
  const names: (keyof Totals)[] = ['grossCredit', 'grossDebit', 'feeCredit', 'feeDebit'];
  names.forEach((k, i) => {
    const text = (fields[2 + i] ?? '').trim();
    if (!/^\d{1,17}$/.test(text)) throw damaged(path, line, `${what} ${k} "${text.slice(0, 20)}" is not an amount`);
    if (Number(text) !== expected[k]) {
      throw damaged(path, line, `${what} says ${k} ${text} ${currency}, the rows add up to ${expected[k]} (the file is damaged or truncated)`);
    }
  });
}

async function* readStl(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow> {
  const path = source.path;
  let columns: Map<string, number> | undefined;
  let sawRh = false;
  let sawFf = false;
  let sawRc = false;
  let inSection = false;
  let sectionRows = 0;
  let reportRows = 0;
  let fileRows = 0;
  let sectionSums = new Map<string, Totals>();
  const reportSums = new Map<string, Totals>();
  const footerCurrencies = new Set<string>();
  let lastLine = 0;
  const records = readCsvRecords(path, { label: 'PayPal settlement report' });
  for await (const rec of records) {
    lastLine = rec.line;
    const type = rec.fields[0]?.trim();
    const f = rec.fields;
    if (!sawRh && type !== 'RH') throw damaged(path, rec.line, `a settlement report starts with an RH record, not "${(type ?? '').slice(0, 10)}"`);
    if (sawFf) throw damaged(path, rec.line, 'records after the FF file footer');
    switch (type) {
      case 'RH': {
        if (sawRh) throw damaged(path, rec.line, 'a second RH record');
        sawRh = true;
        const account = f[3]?.trim();
        if (options.merchantId && account && account !== options.merchantId) {
          throw invalid(`${path} is the settlement report of PayPal account ${account}, not ${options.merchantId}`);
        }
        break;
      }
      case 'FH':
        break;
      case 'SH': {
        if (inSection) throw damaged(path, rec.line, 'a section header inside an open section (missing SF/SC)');
        inSection = true;
        sectionRows = 0;
        sectionSums = new Map();
        const day = stlDate(f[1] ?? '');
        if (!day) throw damaged(path, rec.line, 'the section header has no period start');
        if (options.date && day !== options.date) {
          throw invalid(`${path} is the PayPal settlement report for ${day}, not ${options.date}`, { hint: 'Take the STL file of the day you reconcile (STL-yyyymmdd...).' });
        }
        const account = f[3]?.trim();
        if (options.merchantId && account && account !== options.merchantId) {
          throw invalid(`${path} has a section for PayPal account ${account}, not ${options.merchantId}`);
        }
        break;
      }
      case 'CH':
        columns = new Map(f.slice(1).map((name, i) => [name.trim().replace(/\s+/g, ' '), i + 1]));
        for (const c of ['Transaction ID', 'Transaction Event Code', 'Transaction Initiation Date', 'Transaction Debit or Credit', 'Gross Transaction Amount', 'Gross Transaction Currency']) {
          if (!columns.has(c)) throw damaged(path, rec.line, `the column header lacks "${c}"`);
        }
        break;
      case 'SB': {
        if (!inSection) throw damaged(path, rec.line, 'a body record outside a section');
        if (!columns) throw damaged(path, rec.line, 'a body record before the CH column header');
        const get = (name: string) => {
          const i = columns!.get(name);
          return i === undefined ? '' : (f[i] ?? '').trim();
        };
        let row: BillRow;
        let raw: { gross: number; grossCr: boolean; fee: number; feeCr: boolean; currency: string; feeCurrency: string };
        try {
          const currency = get('Gross Transaction Currency');
          if (!isKnownCurrency(currency)) throw new Error(`unknown currency "${currency.slice(0, 10)}"`);
          const feeCurrency = get('Fee Currency') || currency;
          if (!isKnownCurrency(feeCurrency)) throw new Error(`unknown fee currency "${feeCurrency.slice(0, 10)}"`);
          if (feeCurrency !== currency && get('Fee Amount') !== '' && Number(get('Fee Amount')) !== 0) throw new Error(`fee in ${feeCurrency} on a ${currency} transaction is not supported`);
          const grossText = get('Gross Transaction Amount');
          const grossCr = direction(get('Transaction Debit or Credit'), 'Transaction Debit or Credit');
          const feeText = get('Fee Amount');
          const feeCr = feeText === '' ? false : direction(get('Fee Debit or Credit'), 'Fee Debit or Credit');
          const gross = stlMinor(grossText, currency, 'Gross Transaction Amount');
          const fee = stlMinor(feeText, currency, 'Fee Amount');
          raw = { gross: Number(grossText || '0'), grossCr, fee: Number(feeText || '0'), feeCr, currency, feeCurrency };
          const code = get('Transaction Event Code');
          if (!/^T\d{4}$/.test(code)) throw new Error(`"${code.slice(0, 10)}" is not a transaction event code`);
          const kind = kindOf(code, grossCr);
          const time = stlTime(get('Transaction Initiation Date'));
          row = {
            line: rec.line,
            kind,
            amountMinor: grossCr ? gross : -gross,
            // A fee debited from the merchant is a charge (positive); a credited fee was given back.
            feeMinor: fee === 0 ? 0 : feeCr ? -fee : fee,
            currency,
            time: isoUtc(time),
            channelTradeNo: get('Transaction ID') || undefined,
            status: code,
          };
          const custom = get('Custom Field');
          const invoice = get('Invoice ID');
          const orderNo = custom || invoice;
          if (orderNo) row.orderNo = orderNo;
          if (kind === 'refund' && invoice && invoice !== orderNo) row.refundNo = invoice;
        } catch (err) {
          throw damaged(path, rec.line, (err as Error).message);
        }
        addTotals(sectionSums, raw.currency, raw.gross, raw.grossCr, raw.fee, raw.feeCr, raw.feeCurrency);
        addTotals(reportSums, raw.currency, raw.gross, raw.grossCr, raw.fee, raw.feeCr, raw.feeCurrency);
        sectionRows++;
        reportRows++;
        fileRows++;
        yield row;
        break;
      }
      case 'SF':
        if (!inSection) throw damaged(path, rec.line, 'a section footer outside a section');
        checkFooter(path, rec.line, f, sectionSums, 'the section footer (SF)');
        footerCurrencies.add(f[1].trim());
        break;
      case 'SC': {
        if (!inSection) throw damaged(path, rec.line, 'a section count outside a section');
        for (const c of sectionSums.keys()) if (!footerCurrencies.has(c)) throw damaged(path, rec.line, `the section has ${c} rows but no SF footer for ${c}`);
        footerCurrencies.clear();
        if (Number(f[1]) !== sectionRows) throw damaged(path, rec.line, `the section count (SC) says ${f[1]} records, the section has ${sectionRows}`);
        inSection = false;
        break;
      }
      case 'RF':
        checkFooter(path, rec.line, f, reportSums, 'the report footer (RF)');
        break;
      case 'RC':
        if (Number(f[1]) !== reportRows) throw damaged(path, rec.line, `the report count (RC) says ${f[1]} records, the report has ${reportRows}`);
        sawRc = true;
        break;
      case 'FF':
        if (Number(f[1]) !== fileRows) throw damaged(path, rec.line, `the file footer (FF) says ${f[1]} records, the file has ${fileRows}`);
        sawFf = true;
        break;
      default:
        throw damaged(path, rec.line, `unknown record type "${(type ?? '').slice(0, 10)}"`);
    }
  }
  if (!sawRh) throw invalid(`${path} is empty`, { hint: 'A PayPal settlement report starts with an RH record.' });
  if (inSection) throw damaged(path, lastLine, 'the last section has no SF/SC footer: the file is truncated');
  if (!sawRc) throw damaged(path, lastLine, 'no RC report count: the file is truncated');
  if (!sawFf) throw damaged(path, lastLine, 'no FF file footer: the file is truncated');
}

/** Normalises one `transaction_details` element of the transactions API. */
export function transactionRow(t: Record<string, unknown>, line: number): BillRow {
  const info = t.transaction_info as Record<string, unknown> | undefined;
  if (!info || typeof info !== 'object') throw new Error('no transaction_info');
  const id = typeof info.transaction_id === 'string' ? info.transaction_id : undefined;
  if (!id) throw new Error('no transaction_id');
  const amount = info.transaction_amount as { currency_code?: string; value?: string } | undefined;
  const currency = amount?.currency_code;
  if (!currency || !isKnownCurrency(currency)) throw new Error(`unknown currency ${String(currency)}`);
  if (typeof amount?.value !== 'string') throw new Error('transaction_amount has no value');
  const gross = fromPaypalValue(amount.value, currency, { allowNegative: true, label: 'transaction_amount' });
  const feeAmount = info.fee_amount as { currency_code?: string; value?: string } | undefined;
  let fee = 0;
  if (feeAmount?.value !== undefined) {
    if (feeAmount.currency_code && feeAmount.currency_code !== currency) throw new Error(`fee in ${feeAmount.currency_code} on a ${currency} transaction is not supported`);
    // The API signs the fee from the account's view: a charged fee is negative.
    fee = -fromPaypalValue(feeAmount.value, currency, { allowNegative: true, label: 'fee_amount' });
  }
  const code = String(info.transaction_event_code ?? '');
  if (!/^T\d{4}$/.test(code)) throw new Error(`"${code.slice(0, 10)}" is not a transaction event code`);
  const kind = kindOf(code, gross >= 0);
  const when = Date.parse(String(info.transaction_initiation_date ?? '').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(when)) throw new Error('transaction_initiation_date is not a time');
  const row: BillRow = { line, kind, amountMinor: gross, feeMinor: fee === 0 ? 0 : fee, currency, time: isoUtc(when), channelTradeNo: id, status: typeof info.transaction_status === 'string' ? info.transaction_status : undefined };
  const custom = typeof info.custom_field === 'string' ? info.custom_field : '';
  const invoice = typeof info.invoice_id === 'string' ? info.invoice_id : '';
  const orderNo = custom || invoice;
  if (orderNo) row.orderNo = orderNo;
  if (kind === 'refund' && invoice && invoice !== orderNo) row.refundNo = invoice;
  return row;
}

/** Streams a PayPal statement (STL or the saved transactions) as normalised rows. */
export async function* readPaypalBill(source: BillSource, options: ReadBillOptions = {}): AsyncGenerator<BillRow> {
  if (options.date) parseDate(options.date);
  const first = await firstNonBlankChar(source.path, { label: 'PayPal statement' });
  if (first === undefined) throw invalid(`${source.path} is empty`, { hint: 'Give a PayPal settlement report (STL) or a file saved by `pay reconcile --download`.' });
  if (first === '{') yield* readJsonLinesBill(source.path, JSON_LINES, options, transactionRow);
  else yield* readStl(source, options);
}

export const paypalBills: BillReader = {
  read: (source, options) => readPaypalBill(source, options),
  /** Variants: `stl` (default, UTF-8), `stl-utf16`, `transactions` (JSON lines). */
  write: async (path, rows, options: WriteBillOptions) => {
    const { rowToTransaction, writeStl, writeTransactions } = await import('./bill-writer.js');
    const variant = options.variant ?? 'stl';
    if (variant === 'stl' || variant === 'csv') await writeStl(path, rows, { date: options.date, account: options.merchantId });
    else if (variant === 'stl-utf16' || variant === 'utf16') await writeStl(path, rows, { date: options.date, account: options.merchantId, utf16: true });
    else if (variant === 'transactions' || variant === 'jsonl') await writeTransactions(path, rows.map((r) => rowToTransaction(r, options.merchantId)), { date: options.date, timeZone: 'UTC', account: options.merchantId });
    else throw invalid(`unknown PayPal bill variant "${variant}"`, { hint: 'Use stl, stl-utf16 or transactions.' });
  },
};
