/** Reads UnionPay reconciliation files (zip, or a bare ZM file) as streams. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { isAscii } from 'node:buffer';
import { type BatchedBillRows, batchedBillRows, type BillRow, type BillSource, type ReadBillOptions } from '../../src/channel/contract.js';
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

/** A row's fields as BillRow carries them: key order and absent (not undefined) keys as always. */
function makeRow(line: number, kind: BillRow['kind'], amountMinor: number, feeMinor: number, currency: string, time: string, orderId: string, origOrderId: string, queryId: string, origQryId: string): BillRow {
  const row: BillRow = { line, kind, amountMinor, feeMinor, currency, time };
  if (kind === 'refund') {
    if (orderId) row.refundNo = orderId;
    if (origOrderId) row.orderNo = origOrderId;
    if (origQryId) row.channelTradeNo = origQryId;
  } else {
    if (orderId) row.orderNo = orderId;
    if (queryId) row.channelTradeNo = queryId;
  }
  return row;
}

/** A row's kind by its 交易类型, given as its two bytes: 01 consume, 04 refund, 31 void. */
function kindOf(t0: number, t1: number): BillRow['kind'] {
  if (t0 === 0x30 && t1 === 0x31) return 'payment';
  if ((t0 === 0x30 && t1 === 0x34) || (t0 === 0x33 && t1 === 0x31)) return 'refund';
  return 'adjustment';
}

/** The signed amount of a row of `kind` with 交易金额 `gross` and 结算金额 `net`. */
function amountOf(kind: BillRow['kind'], gross: number, net: number): number {
  if (kind === 'payment') return gross;
  if (kind === 'refund') return gross === 0 ? 0 : -gross;
  // Anything else (pre-authorisation completions, adjustments) takes the direction of its settlement.
  return net < 0 && gross !== 0 ? -gross : gross;
}

/** The exact (checking) decoding of one record; the reader's fast path falls back to it for anything unusual. */
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
  const kind = txnType.length === 2 ? kindOf(txnType.charCodeAt(0), txnType.charCodeAt(1)) : 'adjustment';
  // D (debited to the merchant) is a fee charged: positive.
  const row = makeRow(lineNo, kind, amountOf(kind, gross, net), fee === 0 ? 0 : -fee, currency, isoUtc(time), get('orderId'), get('origOrderId'), get('queryId'), get('origQryId'));
  return { row, merId: get('merId'), fee, net, gross };
}

// Byte positions (within a record) of the fields the fast path reads.
const AT_AMT = OFFSET.txnAmt;
const AT_FEE = OFFSET.merFee;
const AT_NET = OFFSET.settleAmt;
const AT_TIME = OFFSET.txnTime;
const AT_TYPE = OFFSET.txnType;
const AT_MER = OFFSET.merId;
const AT_ORDER = OFFSET.orderId;
const AT_QUERY = OFFSET.queryId;
const AT_ORIG_ORDER = OFFSET.origOrderId;
const AT_ORIG_QUERY = OFFSET.origQryId;
const SEPARATOR_AT = Int32Array.from(SEPARATORS, ([sep]) => sep);

/** The value of the `n` ASCII digits at data[at], or -1 when a byte is not a digit (n <= 15: exact). */
function digitsAt(data: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = at, end = at + n; i < end; i++) {
    const d = data[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** A D/C + 12 digits field at data[at] as `signed` reads it, or undefined when it is not one. */
function signedAt(data: Buffer, at: number): number | undefined {
  const dc = data[at];
  if (dc !== 0x43 && dc !== 0x44) return undefined; // C, D
  const n = digitsAt(data, at + 1, 12);
  if (n < 0) return undefined;
  return dc === 0x43 ? n : -n;
}

/** Whether String.prototype.trim removes this (latin1) character. */
const trimmed = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0;

/** data[from, to) as latin1 text, trimmed as String.prototype.trim does, without copying the padding. */
function textAt(data: Buffer, from: number, to: number): string {
  while (to > from && trimmed(data[to - 1])) to--;
  while (from < to && trimmed(data[from])) from++;
  return from < to ? data.toString('latin1', from, to) : '';
}

/**
 * Cuts a stream into runs of whole lines: `data[from, to)` holds lines each ending in LF (a line
 * split across two chunks comes as a run of its own); a last line without LF comes with
 * `terminated` false. No copy of the chunks but for the piece a chunk boundary cuts. Exported for
 * its tests.
 */
export async function* lineRuns(chunks: AsyncIterable<Buffer>): AsyncGenerator<Array<{ data: Buffer; from: number; to: number; terminated: boolean }>> {
  let rest: Buffer | undefined;
  for await (const chunk of chunks) {
    const runs: Array<{ data: Buffer; from: number; to: number; terminated: boolean }> = [];
    let start = 0;
    if (rest) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      const joined = Buffer.concat([rest, chunk.subarray(0, nl + 1)]);
      runs.push({ data: joined, from: 0, to: joined.length, terminated: true });
      rest = undefined;
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    if (last >= start) {
      runs.push({ data: chunk, from: start, to: last + 1, terminated: true });
      start = last + 1;
    }
    if (start < chunk.length) rest = Buffer.from(chunk.subarray(start));
    if (runs.length) yield runs;
  }
  if (rest && rest.length) yield [{ data: rest, from: 0, to: rest.length, terminated: false }];
}

async function* fileChunks(path: string): AsyncGenerator<Buffer, void, undefined> {
  yield* createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
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
 * against the RD summary) or a bare ZM file; row by row, or a chunk of the file at a time
 * (`batches()`, what reconciliation's packer takes: no promise and no generator step per row).
 * Throws PayError INVALID_REQUEST for a damaged file, a bill for another date or merchant, or an
 * empty file.
 */
export function readUnionPayBill(source: BillSource, options: ReadBillOptions): BatchedBillRows {
  return batchedBillRows(() => readUnionPayBillChunks(source, options));
}

/** The rows of a bill, an array per chunk of the file read. */
async function* readUnionPayBillChunks(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow[]> {
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
  const file = basename(path);
  const merchantId = options.merchantId;
  // The merchant field as it reads when it is exactly `merchantId` (padded with spaces), compared
  // byte by byte; anything else is compared as text, the exact way.
  const merBytes = merchantId && /^[\x21-\x7e]{1,15}$/.test(merchantId) ? Buffer.from(merchantId.padEnd(WIDTH.merId, ' '), 'latin1') : undefined;
  // Rows come in time order and many share a second: the last time converted is reused.
  let lastTimeKey = -1;
  let lastIso = '';
  let lineNo = 0;
  let out: BillRow[] = [];

  /** Counts a row into the totals and the chunk. */
  const take = (row: BillRow, fee: number, net: number, gross: number) => {
    totals.count++;
    if (row.amountMinor >= 0) totals.amountCredit += gross;
    else totals.amountDebit += gross;
    if (fee < 0) totals.feeDebit += -fee;
    else totals.feeCredit += fee;
    if (net < 0) totals.netDebit += -net;
    else totals.netCredit += net;
    out.push(row);
  };

  /** One line, data[s, e) (line end excluded), the exact way: every check, in the order they have always been made. */
  const exactLine = (data: Buffer, s: number, e: number, terminated: boolean) => {
    const length = e - s;
    if (length === 0 || (length < ZM_RECORD_BYTES && data.toString('latin1', s, e).trim() === '')) return;
    if (length > ZM_RECORD_BYTES) throw damaged(path, `:${lineNo}`, `the record is ${length} bytes, a ZM record is ${ZM_RECORD_BYTES} (wrong encoding, or not a ZM file)`);
    if (length < ZM_RECORD_BYTES && (!terminated || length < ZM_MIN_BYTES)) {
      throw damaged(path, `:${lineNo}`, `the record is cut short (${length} of ${ZM_RECORD_BYTES} bytes): the file is truncated`);
    }
    const rec = decodeRecord(data.subarray(s, e), lineNo, path, timeOf, currency);
    if (merchantId && rec.merId !== merchantId) throw invalid(`${file}:${lineNo}: the record is merchant ${rec.merId}'s, not ${merchantId}`);
    take(rec.row, rec.fee, rec.net, rec.gross);
  };

  /**
   * The lines of data[from, to), each ending in LF. A full-length ASCII record whose fields have
   * their usual form (digits, D/C, a time already seen or a valid one) is decoded from its bytes
   * here; any other line goes the exact way, which makes the same checks with the same messages.
   */
  const readRun = (data: Buffer, from: number, to: number) => {
    const ascii = isAscii(data.subarray(from, to));
    let s = from;
    while (s < to) {
      const nl = data.indexOf(0x0a, s);
      const e = nl > s && data[nl - 1] === 0x0d ? nl - 1 : nl;
      lineNo++;
      fast: if (e - s === ZM_RECORD_BYTES && (ascii || isAscii(data.subarray(s, e)))) {
        for (let i = 0; i < SEPARATOR_AT.length; i++) if (data[s + SEPARATOR_AT[i]] !== 0x20) break fast;
        const gross = digitsAt(data, s + AT_AMT, 12);
        if (gross < 0) break fast;
        const fee = signedAt(data, s + AT_FEE);
        if (fee === undefined) break fast;
        const net = signedAt(data, s + AT_NET);
        if (net === undefined) break fast;
        const timeKey = digitsAt(data, s + AT_TIME, 10);
        if (timeKey < 0) break fast;
        if (timeKey !== lastTimeKey) {
          const time = timeOf(data.toString('latin1', s + AT_TIME, s + AT_TIME + 10));
          if (time === undefined) break fast;
          lastIso = isoUtc(time);
          lastTimeKey = timeKey;
        }
        if (merchantId) {
          let same = merBytes !== undefined;
          for (let i = 0; same && i < WIDTH.merId; i++) same = data[s + AT_MER + i] === merBytes![i];
          if (!same) {
            const merId = textAt(data, s + AT_MER, s + AT_MER + WIDTH.merId);
            if (merId !== merchantId) throw invalid(`${file}:${lineNo}: the record is merchant ${merId}'s, not ${merchantId}`);
          }
        }
        const kind = kindOf(data[s + AT_TYPE], data[s + AT_TYPE + 1]);
        // D (debited to the merchant) is a fee charged: positive.
        const orderId = textAt(data, s + AT_ORDER, s + AT_ORDER + WIDTH.orderId);
        // Only the fields the row carries are decoded: a refund names its original, a payment itself.
        const row =
          kind === 'refund'
            ? makeRow(lineNo, kind, amountOf(kind, gross, net), fee === 0 ? 0 : -fee, currency, lastIso, orderId, textAt(data, s + AT_ORIG_ORDER, s + AT_ORIG_ORDER + WIDTH.origOrderId), '', textAt(data, s + AT_ORIG_QUERY, s + AT_ORIG_QUERY + WIDTH.origQryId))
            : makeRow(lineNo, kind, amountOf(kind, gross, net), fee === 0 ? 0 : -fee, currency, lastIso, orderId, '', textAt(data, s + AT_QUERY, s + AT_QUERY + WIDTH.queryId), '');
        take(row, fee, net, gross);
        s = nl + 1;
        continue;
      }
      exactLine(data, s, e, true);
      s = nl + 1;
    }
  };

  try {
    for await (const runs of lineRuns(chunks)) {
      for (const run of runs) {
        if (run.terminated) readRun(run.data, run.from, run.to);
        else {
          // The last line, without a line end.
          lineNo++;
          const { data } = run;
          exactLine(data, 0, data[data.length - 1] === 0x0d ? data.length - 1 : data.length, false);
        }
      }
      if (out.length) {
        yield out;
        out = [];
      }
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
