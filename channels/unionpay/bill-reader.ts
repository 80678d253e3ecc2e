/** Reads UnionPay reconciliation files (zip, or a bare ZM file) as streams. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { isAscii } from 'node:buffer';
import type { BillRow, BillSource, ReadBillOptions } from '../../src/channel/contract.js';
import { isZip, listZip, openEntry, readEntry, ZipFormatError, type ZipEntry } from '../../src/channel/zip.js';
import { invalid, PayError } from '../../src/core/errors.js';
import { formatAmount, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { decodeText } from './form.js';
import { fromMonthDayTime, fromTxnTime } from './wire-time.js';
import { CURRENCY_BY_NAME, emptyTotals, OFFSET, RD_NAME, WIDTH, ZM_FIELDS, ZM_MIN_BYTES, ZM_NAME, ZM_RECORD_BYTES, type Totals, type ZmField } from './bill-format.js';

function damaged(path: string, where: string, message: string): PayError {
  return invalid(`${basename(path)}${where}: ${message}`, {
    hint: 'The UnionPay reconciliation file looks damaged, truncated or is not one; download it again (pay reconcile --download).',
  });
}

/** The RD summary's header and 总计 line. */
export interface RdSummary extends Totals {
  merId: string;
  /** YYYY-MM-DD */
  settleDate: string;
  currency: string;
}

/** Parses the RD summary text. Throws Error with a reason. */
export function parseRd(text: string): RdSummary {
  const merId = /商户代码[:：]\s*([0-9A-Za-z]+)/.exec(text)?.[1];
  const date = /清算日期[:：]\s*(\d{8})/.exec(text)?.[1];
  const currencyName = /清算币种[:：]\s*(\S+)/.exec(text)?.[1];
  if (!merId || !date || !currencyName) throw new Error('the summary lacks 商户代码, 清算日期 or 清算币种');
  const currency = CURRENCY_BY_NAME[currencyName];
  if (!currency) throw new Error(`unknown settlement currency ${currencyName}`);
  const section = text.indexOf('交易类型');
  const total = section >= 0 ? /^\s*总计\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$/m.exec(text.slice(section)) : null;
  if (!total) throw new Error('the summary has no 总计 line under 交易类型');
  const amt = (s: string, what: string) => parseAmount(s, currency, { allowZero: true, label: `summary ${what}` });
  return {
    merId,
    settleDate: `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`,
    currency,
    count: Number(total[1]),
    amountDebit: amt(total[2], '交易金额 借'),
    amountCredit: amt(total[3], '交易金额 贷'),
    feeDebit: amt(total[4], '费用 借'),
    feeCredit: amt(total[5], '费用 贷'),
    netDebit: amt(total[6], '资金清算差额 借'),
    netCredit: amt(total[7], '资金清算差额 贷'),
  };
}


function signed(value: string): number | undefined {
  if (!/^[CD]\d{12}$/.test(value)) return undefined;
  const n = Number(value.slice(1));
  return value[0] === 'C' ? n : -n;
}

/** One line decoded into a row plus what the totals need. */
/** Byte positions of the separators, with the field each precedes. */
const SEPARATORS = ZM_FIELDS.slice(1).map(([name]) => [OFFSET[name] - 1, name] as const);

/** Instant of an MMDDhhmmss time near the settlement date, with the day part memoised (one per row otherwise). */
function makeTimeParser(settleMs: number): (s: string) => number | undefined {
  const days = new Map<string, number | undefined>();
  return (s) => {
    if (s.length !== 10) return undefined;
    const mmdd = s.slice(0, 4);
    let day = days.get(mmdd);
    if (!days.has(mmdd)) {
      day = fromMonthDayTime(`${mmdd}000000`, settleMs);
      days.set(mmdd, day);
    }
    if (day === undefined) return undefined;
    const h = Number(s.slice(4, 6));
    const m = Number(s.slice(6, 8));
    const sec = Number(s.slice(8, 10));
    if (!/^\d{6}$/.test(s.slice(4)) || h > 23 || m > 59 || sec > 59) return undefined;
    return day + ((h * 60 + m) * 60 + sec) * 1000;
  };
}

function decodeRecord(line: Buffer, lineNo: number, path: string, timeOf: (s: string) => number | undefined, currency: string): { row: BillRow; merId: string; fee: number; net: number; gross: number } {
  const where = `:${lineNo}`;
  for (const [sep, name] of SEPARATORS) {
    if (sep < line.length && line[sep] !== 0x20) {
      throw damaged(path, where, `no field separator before ${name} at byte ${sep + 1} (wrong encoding, or not a ZM record)`);
    }
  }
  if (!isAscii(line)) {
    try {
      decodeText(line, 'gbk');
    } catch {
      throw damaged(path, where, 'the record is not GBK text (UnionPay files are GBK)');
    }
  }
  const get = (f: ZmField) => line.toString('latin1', OFFSET[f], Math.min(line.length, OFFSET[f] + WIDTH[f])).trim();
  const txnAmt = get('txnAmt');
  if (!/^\d{12}$/.test(txnAmt)) throw damaged(path, where, `交易金额 "${txnAmt}" is not a 12-digit amount in fen`);
  const fee = signed(get('merFee'));
  if (fee === undefined) throw damaged(path, where, `商户手续费 "${get('merFee')}" is not D/C and 12 digits`);
  const net = signed(get('settleAmt'));
  if (net === undefined) throw damaged(path, where, `结算金额 "${get('settleAmt')}" is not D/C and 12 digits`);
  const time = timeOf(get('txnTime'));
  if (time === undefined) throw damaged(path, where, `交易传输时间 "${get('txnTime')}" is not MMDDhhmmss`);
  const txnType = get('txnType');
  const gross = Number(txnAmt);
  let kind: BillRow['kind'];
  let amountMinor: number;
  if (txnType === '01') {
    kind = 'payment';
    amountMinor = gross;
  } else if (txnType === '04' || txnType === '31') {
    kind = 'refund';
    amountMinor = gross === 0 ? 0 : -gross;
  } else {
    // Anything else (pre-authorisation completions, adjustments) takes the direction of its settlement.
    kind = 'adjustment';
    amountMinor = net < 0 && gross !== 0 ? -gross : gross;
  }
  const orderId = get('orderId');
  const row: BillRow = {
    line: lineNo,
    kind,
    amountMinor,
    // D (debited to the merchant) is a fee charged: positive.
    feeMinor: fee === 0 ? 0 : -fee,
    currency,
    time: isoUtc(time),
  };
  if (kind === 'refund') {
    row.refundNo = orderId || undefined;
    row.orderNo = get('origOrderId') || undefined;
    row.channelTradeNo = get('origQryId') || undefined;
  } else {
    row.orderNo = orderId || undefined;
    row.channelTradeNo = get('queryId') || undefined;
  }
  if (row.orderNo === undefined) delete row.orderNo;
  if (row.refundNo === undefined) delete row.refundNo;
  if (row.channelTradeNo === undefined) delete row.channelTradeNo;
  return { row, merId: get('merId'), fee, net, gross };
}

async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<{ line: Buffer; terminated: boolean }> {
  let rest: Buffer | undefined;
  for await (const chunk of chunks) {
    let data = rest && rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const end = nl > start && data[nl - 1] === 0x0d ? nl - 1 : nl;
      yield { line: data.subarray(start, end), terminated: true };
      start = nl + 1;
    }
    rest = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
    data = Buffer.alloc(0);
  }
  if (rest && rest.length) yield { line: rest[rest.length - 1] === 0x0d ? rest.subarray(0, -1) : rest, terminated: false };
}

async function* fileChunks(path: string): AsyncGenerator<Buffer, void, undefined> {
  yield* createReadStream(path) as AsyncIterable<Buffer>;
}

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function yymmddToDate(s: string): string {
  return `20${s.slice(0, 2)}-${s.slice(2, 4)}-${s.slice(4, 6)}`;
}

/**
 * Streams the rows of a UnionPay reconciliation file: the zip as downloaded (ZM rows cross-checked
 * against the RD summary) or a bare ZM file. Throws PayError INVALID_REQUEST for a damaged file,
 * a bill for another date or merchant, or an empty file.
 */
export async function* readUnionPayBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
  const path = source.path;
  if (options.date) parseDate(options.date, 'bill date');
  let first: Buffer;
  try {
    first = await head(path, 4);
  } catch (err) {
    throw invalid(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (first.length === 0) throw invalid(`${basename(path)} is empty`, { hint: 'Download the bill again; an empty file has nothing to reconcile.' });
  // Both sources are lazy: nothing is opened until the rows are read.
  let chunks: AsyncGenerator<Buffer, void, undefined>;
  let summary: RdSummary | undefined;
  let nameDate: string | undefined;
  let nameMerId: string | undefined;
  if (isZip(first)) {
    let entries: ZipEntry[];
    try {
      entries = await listZip(path);
    } catch (err) {
      throw damaged(path, '', (err as Error).message);
    }
    const zm = entries.find((e) => ZM_NAME.test(e.name));
    if (!zm) throw damaged(path, '', `the zip has no ZM detail file (INN<yyMMdd>88ZM_<merId>); it holds ${entries.map((e) => e.name).join(', ') || 'nothing'}`);
    const rd = entries.find((e) => RD_NAME.test(e.name));
    const m = ZM_NAME.exec(zm.name)!;
    nameDate = yymmddToDate(m[1]);
    nameMerId = m[2];
    if (rd) {
      try {
        const bytes = await readEntry(path, rd);
        summary = parseRd(decodeText(bytes, 'gbk'));
      } catch (err) {
        throw damaged(path, ` (${rd.name})`, (err as Error).message);
      }
    } else {
      throw damaged(path, '', 'the zip has no RD summary file, so its rows cannot be checked against UnionPay\'s totals');
    }
    // A damaged entry shows on the first read, where ZipFormatError is reported below.
    chunks = openEntry(path, zm);
  } else {
    const m = ZM_NAME.exec(basename(path));
    if (m) {
      nameDate = yymmddToDate(m[1]);
      nameMerId = m[2];
    }
    if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) throw damaged(path, '', 'the file is UTF-8 (it starts with a byte-order mark); UnionPay files are GBK');
    chunks = fileChunks(path);
  }
  const billDate = summary?.settleDate ?? nameDate;
  if (options.date && billDate && billDate !== options.date) {
    throw invalid(`${basename(path)} is UnionPay's bill for settlement date ${billDate}, not ${options.date}`);
  }
  const fileMerId = summary?.merId ?? nameMerId;
  if (options.merchantId && fileMerId && fileMerId !== options.merchantId) {
    throw invalid(`${basename(path)} is the bill of merchant ${fileMerId}, not ${options.merchantId}`);
  }
  if (summary && nameMerId && summary.merId !== nameMerId) throw damaged(path, '', `the summary names merchant ${summary.merId}, the detail file ${nameMerId}`);
  const currency = summary?.currency ?? 'CNY';
  const anchorDate = billDate ?? options.date;
  // Noon Beijing time on the settlement date: trades of that clearing day lie within a day of it.
  const settleMs = anchorDate ? fromTxnTime(`${anchorDate.replace(/-/g, '')}120000`)! : Date.now();
  const timeOf = makeTimeParser(settleMs);
  const totals = emptyTotals();
  let lineNo = 0;
  try {
    for await (const { line, terminated } of lines(chunks)) {
      lineNo++;
      if (line.length === 0 || (line.length < ZM_RECORD_BYTES && line.toString('latin1').trim() === '')) continue;
      if (line.length > ZM_RECORD_BYTES) throw damaged(path, `:${lineNo}`, `the record is ${line.length} bytes, a ZM record is ${ZM_RECORD_BYTES} (wrong encoding, or not a ZM file)`);
      if (line.length < ZM_RECORD_BYTES && (!terminated || line.length < ZM_MIN_BYTES)) {
        throw damaged(path, `:${lineNo}`, `the record is cut short (${line.length} of ${ZM_RECORD_BYTES} bytes): the file is truncated`);
      }
      const rec = decodeRecord(line, lineNo, path, timeOf, currency);
      if (options.merchantId && rec.merId !== options.merchantId) throw invalid(`${basename(path)}:${lineNo}: the record is merchant ${rec.merId}'s, not ${options.merchantId}`);
      totals.count++;
      if (rec.row.amountMinor >= 0) totals.amountCredit += rec.gross;
      else totals.amountDebit += rec.gross;
      if (rec.fee < 0) totals.feeDebit += -rec.fee;
      else totals.feeCredit += rec.fee;
      if (rec.net < 0) totals.netDebit += -rec.net;
      else totals.netCredit += rec.net;
      yield rec.row;
    }
  } catch (err) {
    if (err instanceof ZipFormatError) throw damaged(path, '', err.message);
    throw err;
  } finally {
    await chunks.return();
  }
  if (totals.count === 0 && !summary) throw invalid(`${basename(path)} has no records`, { hint: 'An empty detail file cannot be told apart from a failed download; check the date.' });
  if (summary) {
    const problems: string[] = [];
    const money = (n: number) => formatAmount(n, currency);
    if (summary.count !== totals.count) problems.push(`the summary counts ${summary.count} transactions, the detail file has ${totals.count}`);
    if (summary.amountCredit - summary.amountDebit !== totals.amountCredit - totals.amountDebit) {
      problems.push(`amounts: summary net ${money(summary.amountCredit - summary.amountDebit)}, rows ${money(totals.amountCredit - totals.amountDebit)}`);
    }
    if (summary.feeDebit - summary.feeCredit !== totals.feeDebit - totals.feeCredit) {
      problems.push(`fees: summary ${money(summary.feeDebit - summary.feeCredit)}, rows ${money(totals.feeDebit - totals.feeCredit)}`);
    }
    if (summary.netCredit - summary.netDebit !== totals.netCredit - totals.netDebit) {
      problems.push(`settlement: summary ${money(summary.netCredit - summary.netDebit)}, rows ${money(totals.netCredit - totals.netDebit)}`);
    }
    if (problems.length) throw damaged(path, '', `the detail rows do not add up to the RD summary (${problems.join('; ')})`);
  }
}

