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
import { type BatchedBillRows, batchedBillRows, type BillReader, type BillRow, type BillSource, type ReadBillOptions, type WriteBillOptions } from '../../src/channel/contract.js';
import { firstNonBlankChar, readCsvBatches, type CsvRecord } from '../../src/channel/csv.js';
import { readJsonLinesBill, type JsonLinesBillFormat } from '../../src/channel/json-lines-bill.js';
import { invalid } from '../../src/core/errors.js';
import { convertMinor, currencyExponent, isKnownCurrency, plainMinor } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { fromPaypalValue, paypalExponent } from './currency.js';

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

/**
 * `text` as an unsigned integer of 1 to 15 digits (always a safe integer), or -1 when it is
 * anything else (empty, longer, a sign, a separator...): the usual STL amount in one pass.
 */
function plainDigits(text: string): number {
  const n = text.length;
  if (n === 0 || n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Where the SB columns read are in the current section's CH record (-1: no such column). */
interface StlColumns {
  id: number;
  invoice: number;
  code: number;
  initiation: number;
  grossDirection: number;
  gross: number;
  grossCurrency: number;
  feeDirection: number;
  fee: number;
  feeCurrency: number;
  custom: number;
}

/** A field of a record, trimmed; '' when the column is absent or the record too short. */
function cell(f: string[], i: number): string {
  return i < 0 ? '' : (f[i] ?? '').trim();
}

/**
 * Reads the settlement report, yielding the rows of each batch of CSV records as one array (a
 * promise and a generator step per chunk of the file, not per row). Every record is checked as it
 * comes; footers, counts and totals are cross-checked.
 */
async function* readStlChunks(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow[]> {
  const path = source.path;
  let columns: StlColumns | undefined;
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
  // What the last rows had, so a value repeated from row to row is checked and converted once:
  // the last currency found known (and its exponent), the last event code found valid, the last
  // time text converted (and the ms and ISO text it gave), and the section and report totals of
  // the last currency.
  // (undefined until set: an empty cell must never match them.)
  let knownCurrency: string | undefined;
  let expCurrency: string | undefined;
  let exp = 0;
  let validCode: string | undefined;
  let lastTimeText: string | undefined;
  let lastMs = Number.NaN;
  let lastIso = '';
  let sumCurrency: string | undefined;
  let sectionTotals: Totals | undefined;
  let reportTotals: Totals | undefined;
  const known = (c: string) => c === knownCurrency || (isKnownCurrency(c) && ((knownCurrency = c), true));
  const totalsOf = (map: Map<string, Totals>, c: string) => {
    let t = map.get(c);
    if (!t) map.set(c, (t = emptyTotals()));
    return t;
  };

  for await (const records of readCsvBatches(path, { label: 'PayPal settlement report' })) {
    const out: BillRow[] = [];
    for (let r = 0; r < records.length; r++) {
      const rec: CsvRecord = records[r];
      lastLine = rec.line;
      const f = rec.fields;
      const type = f[0]?.trim();
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
          sectionTotals = undefined;
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
        case 'CH': {
          const names = new Map(f.slice(1).map((name, i) => [name.trim().replace(/\s+/g, ' '), i + 1]));
          for (const c of ['Transaction ID', 'Transaction Event Code', 'Transaction Initiation Date', 'Transaction Debit or Credit', 'Gross Transaction Amount', 'Gross Transaction Currency']) {
            if (!names.has(c)) throw damaged(path, rec.line, `the column header lacks "${c}"`);
          }
          // Resolved once per header, not looked up by name in every row.
          const at = (name: string) => names.get(name) ?? -1;
          columns = {
            id: at('Transaction ID'),
            invoice: at('Invoice ID'),
            code: at('Transaction Event Code'),
            initiation: at('Transaction Initiation Date'),
            grossDirection: at('Transaction Debit or Credit'),
            gross: at('Gross Transaction Amount'),
            grossCurrency: at('Gross Transaction Currency'),
            feeDirection: at('Fee Debit or Credit'),
            fee: at('Fee Amount'),
            feeCurrency: at('Fee Currency'),
            custom: at('Custom Field'),
          };
          break;
        }
        case 'SB': {
          if (!inSection) throw damaged(path, rec.line, 'a body record outside a section');
          if (!columns) throw damaged(path, rec.line, 'a body record before the CH column header');
          const c = columns;
          let row: BillRow;
          let currency: string;
          let feeCurrency: string;
          let grossCr: boolean;
          let feeCr: boolean;
          // The amounts as written (two implied decimals), for the footers' totals.
          let grossRaw: number;
          let feeRaw: number;
          try {
            currency = cell(f, c.grossCurrency);
            if (!known(currency)) throw new Error(`unknown currency "${currency.slice(0, 10)}"`);
            feeCurrency = cell(f, c.feeCurrency) || currency;
            if (feeCurrency !== currency && !known(feeCurrency)) throw new Error(`unknown fee currency "${feeCurrency.slice(0, 10)}"`);
            const feeText = cell(f, c.fee);
            if (feeCurrency !== currency && feeText !== '' && Number(feeText) !== 0) throw new Error(`fee in ${feeCurrency} on a ${currency} transaction is not supported`);
            const grossText = cell(f, c.gross);
            const grossDirection = cell(f, c.grossDirection);
            grossCr = grossDirection === 'CR' ? true : grossDirection === 'DR' ? false : direction(grossDirection, 'Transaction Debit or Credit');
            if (feeText === '') feeCr = false;
            else {
              const feeDirection = cell(f, c.feeDirection);
              feeCr = feeDirection === 'CR' ? true : feeDirection === 'DR' ? false : direction(feeDirection, 'Fee Debit or Credit');
            }
            if (currency !== expCurrency) {
              exp = currencyExponent(currency);
              expCurrency = currency;
            }
            // The usual amount (plain digits, a currency of two decimals) is its own minor units;
            // anything else goes the exact, checking way of stlMinor.
            let gross = exp === STL_EXPONENT ? plainDigits(grossText) : -1;
            if (gross >= 0) grossRaw = gross;
            else {
              gross = stlMinor(grossText, currency, 'Gross Transaction Amount');
              grossRaw = Number(grossText || '0');
            }
            let fee = exp === STL_EXPONENT ? plainDigits(feeText) : -1;
            if (fee >= 0) feeRaw = fee;
            else {
              fee = stlMinor(feeText, currency, 'Fee Amount');
              feeRaw = Number(feeText || '0');
            }
            const code = cell(f, c.code);
            if (code !== validCode) {
              if (!/^T\d{4}$/.test(code)) throw new Error(`"${code.slice(0, 10)}" is not a transaction event code`);
              validCode = code;
            }
            const kind = kindOf(code, grossCr);
            // Rows come in time order and many share a second: the last conversion is reused.
            const timeText = cell(f, c.initiation);
            if (timeText !== lastTimeText) {
              const ms = stlTime(timeText);
              if (ms !== lastMs) {
                lastIso = isoUtc(ms);
                lastMs = ms;
              }
              lastTimeText = timeText;
            }
            row = {
              line: rec.line,
              kind,
              amountMinor: grossCr ? gross : -gross,
              // A fee debited from the merchant is a charge (positive); a credited fee was given back.
              feeMinor: fee === 0 ? 0 : feeCr ? -fee : fee,
              currency,
              time: lastIso,
              channelTradeNo: cell(f, c.id) || undefined,
              status: code,
            };
            const custom = cell(f, c.custom);
            const invoice = cell(f, c.invoice);
            const orderNo = custom || invoice;
            if (orderNo) row.orderNo = orderNo;
            if (kind === 'refund' && invoice && invoice !== orderNo) row.refundNo = invoice;
          } catch (err) {
            throw damaged(path, rec.line, (err as Error).message);
          }
          if (feeCurrency === currency) {
            if (currency !== sumCurrency || !sectionTotals || !reportTotals) {
              sectionTotals = totalsOf(sectionSums, currency);
              reportTotals = totalsOf(reportSums, currency);
              sumCurrency = currency;
            }
            const grossKey = grossCr ? 'grossCredit' : 'grossDebit';
            const feeKey = feeCr ? 'feeCredit' : 'feeDebit';
            sectionTotals[grossKey] += grossRaw;
            reportTotals[grossKey] += grossRaw;
            sectionTotals[feeKey] += feeRaw;
            reportTotals[feeKey] += feeRaw;
          } else {
            addTotals(sectionSums, currency, grossRaw, grossCr, feeRaw, feeCr, feeCurrency);
            addTotals(reportSums, currency, grossRaw, grossCr, feeRaw, feeCr, feeCurrency);
          }
          sectionRows++;
          reportRows++;
          fileRows++;
          out.push(row);
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
    if (out.length) yield out;
  }
  if (!sawRh) throw invalid(`${path} is empty`, { hint: 'A PayPal settlement report starts with an RH record.' });
  if (inSection) throw damaged(path, lastLine, 'the last section has no SF/SC footer: the file is truncated');
  if (!sawRc) throw damaged(path, lastLine, 'no RC report count: the file is truncated');
  if (!sawFf) throw damaged(path, lastLine, 'no FF file footer: the file is truncated');
}

/**
 * What the last transactions of a file had, so a value repeated from line to line is checked and
 * converted once (see {@link transactionRows}).
 */
interface TransactionMemo {
  /** The last initiation date converted, and its ISO text. */
  timeText: string | undefined;
  iso: string;
  /** The last event code found valid. */
  code: string | undefined;
  /** The last currency looked at, and the exponent its plain amounts have (-1: none, see plainExponent). */
  currency: string | undefined;
  exponent: number;
}

/**
 * The exponent at which PayPal's value for `currency` is already pay's minor units (PayPal's and
 * pay's exponents agree: USD 2, JPY 0), or -1 (TWD: PayPal 0, pay 2) for the exact way only.
 */
function plainExponent(currency: string): number {
  const exp = paypalExponent(currency);
  return exp === currencyExponent(currency) ? exp : -1;
}

/** A PayPal value in pay's minor units: the usual shape in one pass, anything else the exact way. */
function paypalMinor(value: unknown, currency: string, label: string, memo: TransactionMemo | undefined): number {
  if (memo && typeof value === 'string') {
    if (currency !== memo.currency) {
      memo.exponent = plainExponent(currency);
      memo.currency = currency;
    }
    if (memo.exponent >= 0) {
      const v = plainMinor(value, memo.exponent);
      if (!Number.isNaN(v)) return v;
    }
  }
  return fromPaypalValue(value as string, currency, { allowNegative: true, label });
}

/** Normalises one `transaction_details` element of the transactions API. */
export function transactionRow(t: Record<string, unknown>, line: number): BillRow {
  return toTransactionRow(t, line, undefined);
}

/**
 * {@link transactionRow} for the lines of one file, in order: the same rows and errors, with the
 * last time, event code and currency remembered so repeated ones are not converted again.
 */
export function transactionRows(): (t: Record<string, unknown>, line: number) => BillRow {
  const memo: TransactionMemo = { timeText: undefined, iso: '', code: undefined, currency: undefined, exponent: -1 };
  return (t, line) => toTransactionRow(t, line, memo);
}

function toTransactionRow(t: Record<string, unknown>, line: number, memo: TransactionMemo | undefined): BillRow {
  const info = t.transaction_info as Record<string, unknown> | undefined;
  if (!info || typeof info !== 'object') throw new Error('no transaction_info');
  const id = typeof info.transaction_id === 'string' ? info.transaction_id : undefined;
  if (!id) throw new Error('no transaction_id');
  const amount = info.transaction_amount as { currency_code?: string; value?: string } | undefined;
  const currency = amount?.currency_code;
  if (!currency || !isKnownCurrency(currency)) throw new Error(`unknown currency ${String(currency)}`);
  if (typeof amount?.value !== 'string') throw new Error('transaction_amount has no value');
  const gross = paypalMinor(amount.value, currency, 'transaction_amount', memo);
  const feeAmount = info.fee_amount as { currency_code?: string; value?: string } | undefined;
  let fee = 0;
  if (feeAmount?.value !== undefined) {
    if (feeAmount.currency_code && feeAmount.currency_code !== currency) throw new Error(`fee in ${feeAmount.currency_code} on a ${currency} transaction is not supported`);
    // The API signs the fee from the account's view: a charged fee is negative.
    fee = -paypalMinor(feeAmount.value, currency, 'fee_amount', memo);
  }
  const code = String(info.transaction_event_code ?? '');
  if (!memo || code !== memo.code) {
    if (!/^T\d{4}$/.test(code)) throw new Error(`"${code.slice(0, 10)}" is not a transaction event code`);
    if (memo) memo.code = code;
  }
  const kind = kindOf(code, gross >= 0);
  const whenText = String(info.transaction_initiation_date ?? '');
  let time: string;
  if (memo && whenText === memo.timeText) time = memo.iso;
  else {
    const when = Date.parse(whenText.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isNaN(when)) throw new Error('transaction_initiation_date is not a time');
    time = isoUtc(when);
    if (memo) {
      memo.timeText = whenText;
      memo.iso = time;
    }
  }
  const row: BillRow = { line, kind, amountMinor: gross, feeMinor: fee === 0 ? 0 : fee, currency, time, channelTradeNo: id, status: typeof info.transaction_status === 'string' ? info.transaction_status : undefined };
  const custom = typeof info.custom_field === 'string' ? info.custom_field : '';
  const invoice = typeof info.invoice_id === 'string' ? info.invoice_id : '';
  const orderNo = custom || invoice;
  if (orderNo) row.orderNo = orderNo;
  if (kind === 'refund' && invoice && invoice !== orderNo) row.refundNo = invoice;
  return row;
}

/**
 * Streams a PayPal statement (STL or the saved transactions) as normalised rows: row by row, or
 * a chunk of the file at a time (`batches()`, what reconciliation's packer takes).
 */
export function readPaypalBill(source: BillSource, options: ReadBillOptions = {}): BatchedBillRows {
  return batchedBillRows(() => readPaypalBillChunks(source, options));
}

/** The rows of a PayPal statement, an array per chunk of the file; the shape is sniffed first. */
async function* readPaypalBillChunks(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow[]> {
  if (options.date) parseDate(options.date);
  const first = await firstNonBlankChar(source.path, { label: 'PayPal statement' });
  if (first === undefined) throw invalid(`${source.path} is empty`, { hint: 'Give a PayPal settlement report (STL) or a file saved by `pay reconcile --download`.' });
  if (first === '{') yield* readJsonLinesBill(source.path, JSON_LINES, options, transactionRows()).batches();
  else yield* readStlChunks(source, options);
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
