/**
 * PayPal statements written as PayPal delivers them (the formats are described in bill.ts): the
 * settlement report (STL, UTF-8 or UTF-16LE) and the transactions JSON-lines file. The simulator,
 * `downloadBill`, the bill benchmark and the tests write through here; bill.ts reads.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { BillRow } from '../../src/channel/contract.js';
import { writeJsonLinesBill, type JsonLinesBillHeader } from '../../src/channel/json-lines-bill.js';
import { convertMinor, currencyExponent } from '../../src/core/money.js';
import { utcToWallTime } from '../../src/core/time.js';
import { addTotals, JSON_LINES, STL_COLUMNS, STL_EXPONENT, type Totals } from './bill.js';
import { toPaypalValue } from './currency.js';

function q(v: string): string {
  return `"${v.replace(/"/g, '""')}"`;
}

/** A report time in UTC: `2026/11/23 10:00:00 +0000`. */
export function formatStlTime(ms: number): string {
  const w = utcToWallTime(ms, 'UTC');
  return `${w.slice(0, 10).replace(/-/g, '/')} ${w.slice(11)} +0000`;
}

/** pay minor units as the STL's unsigned two-decimal integer. */
function stlAmount(amountMinor: number, currency: string): number {
  return convertMinor(Math.abs(amountMinor), currencyExponent(currency), STL_EXPONENT);
}

function eventCode(r: BillRow): string {
  switch (r.kind) {
    case 'payment':
      return 'T0006';
    case 'refund':
      return 'T1107';
    case 'payout':
      return 'T0001';
    case 'fee':
      return 'T0106';
    default:
      return 'T1900';
  }
}

/** Writes rows (streamed) as a version-9 settlement report: one section; UTF-8, or UTF-16LE with a BOM. */
export async function writeStl(path: string, rows: Iterable<BillRow>, options: { date: string; account?: string; utf16?: boolean; generatedAt?: number }): Promise<number> {
  const out = createWriteStream(path);
  if (options.utf16) out.write(Buffer.from([0xff, 0xfe]));
  const write = async (line: string) => {
    if (!out.write(options.utf16 ? Buffer.from(`${line}\r\n`, 'utf16le') : `${line}\r\n`)) await once(out, 'drain');
  };
  const account = options.account ?? 'PAYSANDBOX0001';
  const dayStart = Date.parse(`${options.date}T00:00:00Z`);
  await write(`"RH",${formatStlTime(options.generatedAt ?? dayStart + 86_400_000 + 3_600_000)},"A",${q(account)},009,`);
  await write('"FH",01');
  await write(`"SH",${formatStlTime(dayStart)},${formatStlTime(dayStart + 86_399_000)},${q(account)},""`);
  await write(`"CH",${STL_COLUMNS.map(q).join(',')}`);
  const sums = new Map<string, Totals>();
  let count = 0;
  for (const r of rows) {
    const gross = stlAmount(r.amountMinor, r.currency);
    const fee = stlAmount(r.feeMinor, r.currency);
    const grossCr = r.amountMinor >= 0 && !(r.kind === 'refund' || r.kind === 'payout');
    const feeCr = r.feeMinor < 0;
    addTotals(sums, r.currency, gross, grossCr, fee, feeCr, r.currency);
    const time = formatStlTime(Date.parse(r.time));
    const isRefund = r.kind === 'refund';
    const values: Record<(typeof STL_COLUMNS)[number], string> = {
      'Transaction ID': q(r.channelTradeNo ?? ''),
      'Invoice ID': q(isRefund ? (r.refundNo ?? '') : (r.orderNo ?? '')),
      'PayPal Reference ID': q(''),
      'PayPal Reference ID Type': q(isRefund ? 'TXN' : ''),
      'Transaction Event Code': q(eventCode(r)),
      'Transaction Initiation Date': time,
      'Transaction Completion Date': time,
      'Transaction  Debit or Credit': q(grossCr ? 'CR' : 'DR'),
      'Gross Transaction Amount': String(gross),
      'Gross Transaction Currency': q(r.currency),
      'Fee Debit or Credit': q(feeCr ? 'CR' : 'DR'),
      'Fee Amount': String(fee),
      'Fee Currency': q(r.currency),
      'Custom Field': q(r.orderNo ?? ''),
      'Consumer ID': q(''),
      'Payment Tracking ID': q(''),
      'Store ID': q(''),
      'Bank Reference ID': q(''),
      'Credit Transactional Fee': '',
      'Credit Promotional Fee': '',
      'Credit Term': q(''),
    };
    await write(`"SB",${STL_COLUMNS.map((c) => values[c]).join(',')}`);
    count++;
  }
  const currencies = [...sums.keys()].sort();
  const footer = (type: 'SF' | 'RF', c: string) => {
    const t = sums.get(c)!;
    const net = t.grossCredit - t.grossDebit + t.feeCredit - t.feeDebit;
    // The writer knows no opening balance: it writes 0 and the day's net movement as the ending balance.
    return `"${type}",${q(c)},${t.grossCredit},${t.grossDebit},${t.feeCredit},${t.feeDebit},"CR",0,${q(net >= 0 ? 'CR' : 'DR')},${Math.abs(net)},"CR",0,"CR",0`;
  };
  for (const c of currencies) await write(footer('SF', c));
  await write(`"SC",${count}`);
  for (const c of currencies) await write(footer('RF', c));
  await write(`"RC",${count}`);
  await write(`"FF",${count}`);
  out.end();
  await once(out, 'finish');
  return count;
}

/** The transactions-API element PayPal would return for a BillRow. */
export function rowToTransaction(r: BillRow, account = 'PAYSANDBOX0001'): Record<string, unknown> {
  const iso = new Date(Date.parse(r.time)).toISOString().replace(/\.\d{3}Z$/, '+0000');
  const isRefund = r.kind === 'refund';
  return {
    transaction_info: {
      paypal_account_id: account,
      transaction_id: r.channelTradeNo ?? '',
      transaction_event_code: eventCode(r),
      transaction_initiation_date: iso,
      transaction_updated_date: iso,
      transaction_amount: { currency_code: r.currency, value: (r.amountMinor < 0 ? '-' : '') + toPaypalValue(Math.abs(r.amountMinor), r.currency) },
      ...(r.feeMinor !== 0 ? { fee_amount: { currency_code: r.currency, value: (r.feeMinor > 0 ? '-' : '') + toPaypalValue(Math.abs(r.feeMinor), r.currency) } } : {}),
      transaction_status: 'S',
      invoice_id: isRefund ? (r.refundNo ?? '') : (r.orderNo ?? ''),
      custom_field: r.orderNo ?? '',
      protection_eligibility: '01',
    },
  };
}

/** Writes transactions (API elements, streamed) as the JSON-lines bill; returns the count. */
export function writeTransactions(
  path: string,
  txns: AsyncIterable<Record<string, unknown>> | Iterable<Record<string, unknown>>,
  header: JsonLinesBillHeader,
): Promise<number> {
  return writeJsonLinesBill(path, JSON_LINES, txns, header);
}
