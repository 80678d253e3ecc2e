/**
 * UnionPay's merchant reconciliation file (全渠道商户对账文件), as delivered by file transfer
 * (txnType 76): a zip `<merId>_<yyyyMMdd>.zip` holding
 * - `INN<yyMMdd>88ZM_<merId>`: the ZM detail file, one fixed-width GBK record per line (CRLF), 42
 *   fields separated by one space, 607 bytes; widths as published in the official SDKs'
 *   `parseZMFile` (after 《全渠道平台接入接口规范 第3部分 文件接口》 6.1), checked against a real
 *   sample file;
 * - `RD2010<yyMMdd>01_<merId>`: the summary (中国银联全渠道商户交易汇总表), GBK text with the
 *   merchant code, settlement date and currency, and a 总计 line of count, amount debit/credit,
 *   fee debit/credit and net debit/credit.
 *
 * Amounts are fen: `交易金额` 12 digits; `商户手续费`, `结算金额`, `清算净额` a D/C (debit/credit to the
 * merchant) letter and 12 digits. Times are MMDDhhmmss in Beijing time. Rows are classified by
 * `交易类型` (01 consume, 04 refund, 31 void); the 3-letter `交易代码` is kept out of the logic
 * because its values are not publicly tabulated.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { BillRow, BillSource, ReadBillOptions, WriteBillOptions } from '../../src/channel/contract.js';
import { isZip, listZip, openEntry, readEntry, writeZip, ZipFormatError, type ZipEntry } from '../../src/channel/zip.js';
import { invalid, PayError } from '../../src/core/errors.js';
import { formatAmount, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { decodeText, encodeText } from './form.js';
import { fromMonthDayTime, fromTxnTime, toMonthDayTime } from './wire-time.js';

/** The ZM record layout: field name and byte width, in order. */
export const ZM_FIELDS = [
  ['tradeCode', 3], // 交易代码
  ['acqInsCode', 11], // 代理机构标识码
  ['sendInsCode', 11], // 发送机构标识码
  ['traceNo', 6], // 系统跟踪号
  ['txnTime', 10], // 交易传输时间 MMDDhhmmss
  ['accNo', 19], // 帐号 (masked)
  ['txnAmt', 12], // 交易金额 (fen)
  ['merCatCode', 4], // 商户类别
  ['termType', 2], // 终端类型
  ['queryId', 21], // 查询流水号
  ['oldPayType', 2], // 支付方式（旧）
  ['orderId', 32], // 商户订单号
  ['payCardType', 2], // 支付卡类型
  ['origTraceNo', 6], // 原始交易的系统跟踪号
  ['origTxnTime', 10], // 原始交易日期时间
  ['merFee', 13], // 商户手续费 (D/C + fen)
  ['settleAmt', 13], // 结算金额 (D/C + fen)
  ['payType', 4], // 支付方式
  ['groupMerId', 15], // 集团商户代码
  ['txnType', 2], // 交易类型
  ['txnSubType', 2], // 交易子类
  ['bizType', 6], // 业务类型
  ['accType', 2], // 帐号类型
  ['billType', 4], // 账单类型
  ['billNo', 32], // 账单号码
  ['interactMode', 1], // 交互方式
  ['origQryId', 21], // 原交易查询流水号
  ['merId', 15], // 商户代码
  ['splitMode', 1], // 分账入账方式
  ['subMerId', 15], // 二级商户代码
  ['subMerAbbr', 32], // 二级商户简称
  ['subMerAmt', 13], // 二级商户分账入账金额
  ['netAmt', 13], // 清算净额
  ['termId', 8], // 终端号
  ['merReserved', 32], // 商户自定义域
  ['discountAmt', 13], // 优惠金额
  ['invoiceAmt', 13], // 发票金额
  ['instalFee', 12], // 分期付款附加手续费
  ['instalNum', 2], // 分期付款期数
  ['medium', 1], // 交易介质
  ['origOrderId', 32], // 原始交易订单号
  ['reserved', 98], // 保留使用
] as const;

type ZmField = (typeof ZM_FIELDS)[number][0];

const OFFSET = {} as Record<ZmField, number>;
const WIDTH = {} as Record<ZmField, number>;
let cursor = 0;
for (const [name, width] of ZM_FIELDS) {
  OFFSET[name] = cursor;
  WIDTH[name] = width;
  cursor += width + 1;
}
/** Bytes in one ZM record, separators included, line end excluded. */
export const ZM_RECORD_BYTES = cursor - 1;
// A line may be right-trimmed by tools that copy it; everything up to the medium field must be there.
const ZM_MIN_BYTES = OFFSET.medium + WIDTH.medium;

/** File names inside the archive for a settlement date and merchant. */
export function billFileNames(date: string, merId: string): { zip: string; zm: string; rd: string } {
  const ymd = date.replace(/-/g, '');
  const yymmdd = ymd.slice(2);
  return { zip: `${merId}_${ymd}.zip`, zm: `INN${yymmdd}88ZM_${merId}`, rd: `RD2010${yymmdd}01_${merId}` };
}

const ZM_NAME = /(?:^|\/)INN(\d{6})\d{2}ZM_([0-9A-Za-z]+)$/;
const RD_NAME = /(?:^|\/)RD\d{4}(\d{6})\d{2}_([0-9A-Za-z]+)$/;

function damaged(path: string, where: string, message: string): PayError {
  return invalid(`${basename(path)}${where}: ${message}`, {
    hint: 'The UnionPay reconciliation file looks damaged, truncated or is not one; download it again (pay reconcile --download).',
  });
}

const CURRENCY_BY_NAME: Record<string, string> = { 人民币: 'CNY', 港币: 'HKD', 美元: 'USD', 欧元: 'EUR', 日元: 'JPY', 英镑: 'GBP' };
const NAME_BY_CURRENCY = Object.fromEntries(Object.entries(CURRENCY_BY_NAME).map(([k, v]) => [v, k]));

/** The RD summary's header and 总计 line. */
export interface RdSummary {
  merId: string;
  /** YYYY-MM-DD */
  settleDate: string;
  currency: string;
  count: number;
  amountDebit: number;
  amountCredit: number;
  feeDebit: number;
  feeCredit: number;
  netDebit: number;
  netCredit: number;
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

/** Running totals of rows, in the RD summary's terms. */
interface Totals {
  count: number;
  amountDebit: number;
  amountCredit: number;
  feeDebit: number;
  feeCredit: number;
  netDebit: number;
  netCredit: number;
}

const emptyTotals = (): Totals => ({ count: 0, amountDebit: 0, amountCredit: 0, feeDebit: 0, feeCredit: 0, netDebit: 0, netCredit: 0 });

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

// ---------------------------------------------------------------------------------------------
// Writing

function pad(value: string, width: number, what: string): string {
  if (value.length > width) throw invalid(`${what} "${value}" does not fit the ZM field (${width} characters)`);
  return value.length === width ? value : value.padEnd(width, ' ');
}

const digits = (n: number, width: number) => String(n).padStart(width, '0');
const dc = (n: number) => `${n < 0 ? 'D' : 'C'}${digits(Math.abs(n), 12)}`;

/** A stable 21-digit query id for rows that do not carry one (refund rows name the original's). */
function syntheticQueryId(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  return `9${(h.readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0')}`;
}

const INDEX = Object.fromEntries(ZM_FIELDS.map(([name], i) => [name, i])) as Record<ZmField, number>;

/** A record template: every field blank except those every record written here shares. */
const TEMPLATE: string[] = ZM_FIELDS.map(([, width]) => ' '.repeat(width));
for (const [name, value] of [
  ['acqInsCode', '48020000'],
  ['sendInsCode', '00049992'],
  ['accNo', '622609******0000'],
  ['merCatCode', '5999'],
  ['termType', '07'],
  ['oldPayType', '01'],
  ['payCardType', '01'],
  ['payType', '0001'],
  ['bizType', '000201'],
  ['accType', '01'],
  ['subMerId', '000000000000000'],
  ['subMerAmt', ` ${digits(0, 12)}`],
  ['termId', '00000000'],
  ['discountAmt', ` ${digits(0, 12)}`],
  ['invoiceAmt', ` ${digits(0, 12)}`],
  ['instalFee', ` ${digits(0, 11)}`],
  ['medium', '7'],
] as Array<[ZmField, string]>) {
  TEMPLATE[INDEX[name]] = pad(value, WIDTH[name], name);
}

/** Encodes one row as a ZM record (ASCII, so GBK-safe). */
export function encodeRecord(row: BillRow, index: number, merId: string): string {
  if (row.currency !== 'CNY') throw invalid(`UnionPay reconciliation files are in CNY; row ${index + 1} is ${row.currency}`);
  const refund = row.kind === 'refund';
  const gross = Math.abs(row.amountMinor);
  const net = row.amountMinor - row.feeMinor;
  const t = Date.parse(row.time);
  if (Number.isNaN(t)) throw invalid(`row ${index + 1}: "${row.time}" is not a time`);
  const f = TEMPLATE.slice();
  const set = (name: ZmField, value: string | undefined) => {
    if (value) f[INDEX[name]] = pad(value, WIDTH[name], name);
  };
  set('tradeCode', refund ? 'S30' : 'S56');
  set('traceNo', digits((index % 999_999) + 1, 6));
  set('txnTime', toMonthDayTime(t));
  set('txnAmt', digits(gross, 12));
  set('queryId', refund ? syntheticQueryId(`${row.refundNo ?? ''}:${index}`) : (row.channelTradeNo ?? syntheticQueryId(`${row.orderNo ?? ''}:${index}`)));
  set('orderId', refund ? row.refundNo : row.orderNo);
  set('merFee', dc(-row.feeMinor));
  set('settleAmt', dc(net));
  set('txnType', refund ? '04' : row.kind === 'payment' ? '01' : '99');
  set('txnSubType', refund ? '00' : '01');
  set('merId', merId);
  set('netAmt', dc(net));
  if (refund) {
    set('origQryId', row.channelTradeNo);
    set('origOrderId', row.orderNo);
  }
  const line = f.join(' ');
  if (/[^\x20-\x7e]/.test(line)) throw invalid(`row ${index + 1} has characters a ZM record cannot hold (order numbers are ASCII)`);
  return line;
}

function rdLine(label: string, count: number, t: Omit<Totals, 'count'>, currency: string): string {
  const m = (n: number) => formatAmount(n, currency).padStart(16);
  // Label padded to 20 display columns (a CJK character takes two).
  const labelWidth = [...label].reduce((w, c) => w + (c.charCodeAt(0) > 0xff ? 2 : 1), 0);
  return `${label}${' '.repeat(Math.max(1, 20 - labelWidth))}${String(count).padStart(8)}${m(t.amountDebit)}${m(t.amountCredit)}${m(t.feeDebit)}${m(t.feeCredit)}${m(t.netDebit)}${m(t.netCredit)}`;
}

/** Renders the RD summary for totals by transaction type. */
export function renderRd(info: { merId: string; date: string; currency: string; generated: string; byType: Array<[string, Totals]>; total: Totals }): string {
  const rule = '_'.repeat(136);
  const header = ['交易类型            交易笔数               交易金额                         费用                              资金清算差额', '                                         借              贷              借              贷               借                  贷'];
  const cardHeader = header[0].replace('交易类型', '卡性质  ');
  const cards = [['借记卡', emptyTotals()], ['贷记卡', emptyTotals()], ['准贷记卡', emptyTotals()], ['其他卡', info.total]] as Array<[string, Totals]>;
  const out = [
    `${' '.repeat(73)}中国银联全渠道商户交易汇总表`,
    '',
    `商户代码:${info.merId}${' '.repeat(40)}清算币种:${NAME_BY_CURRENCY[info.currency] ?? info.currency}`,
    `收单机构:48020000${' '.repeat(47)}清算日期:${info.date.replace(/-/g, '')}`,
    `商户名称:pay sandbox${' '.repeat(44)}生成日期:${info.generated.replace(/-/g, '')}`,
    '',
    '',
    ...header,
    rule,
    ...info.byType.map(([label, t]) => rdLine(label, t.count, t, info.currency)),
    rule,
    rdLine('总计', info.total.count, info.total, info.currency),
    '',
    cardHeader,
    header[1],
    rule,
    ...cards.map(([label, t]) => rdLine(label, t.count, t, info.currency)),
    rule,
    rdLine('总计', info.total.count, info.total, info.currency),
    '',
  ];
  return out.join('\r\n');
}

/**
 * Writes `rows` as UnionPay delivers them: variant `zip` (default) is the archive with the ZM
 * detail file and the RD summary; `zm` is the bare detail file.
 */
export async function writeUnionPayBill(path: string, rows: BillRow[], options: WriteBillOptions): Promise<void> {
  parseDate(options.date, 'bill date');
  const merId = options.merchantId ?? '000000000000000';
  if (!/^[0-9A-Za-z]{15}$/.test(merId)) throw invalid(`merchant id "${merId}" is not a 15-character UnionPay merchant code`);
  const variant = options.variant ?? 'zip';
  if (variant !== 'zip' && variant !== 'zm') throw invalid(`unknown UnionPay bill variant "${variant}" (zip or zm)`);
  const names = billFileNames(options.date, merId);
  const byType = new Map<string, Totals>();
  const total = emptyTotals();
  const add = (t: Totals, row: BillRow) => {
    t.count++;
    const gross = Math.abs(row.amountMinor);
    if (row.amountMinor < 0) t.amountDebit += gross;
    else t.amountCredit += gross;
    if (row.feeMinor >= 0) t.feeDebit += row.feeMinor;
    else t.feeCredit += -row.feeMinor;
    const net = row.amountMinor - row.feeMinor;
    if (net < 0) t.netDebit += -net;
    else t.netCredit += net;
  };
  const zmChunks = function* (): Generator<Buffer> {
    let batch: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      batch.push(encodeRecord(row, i, merId));
      const label = row.kind === 'refund' ? '退货' : row.kind === 'payment' ? '消费' : '其他';
      if (!byType.has(label)) byType.set(label, emptyTotals());
      add(byType.get(label)!, row);
      add(total, row);
      if (batch.length >= 2048) {
        yield Buffer.from(`${batch.join('\r\n')}\r\n`, 'latin1');
        batch = [];
      }
    }
    if (batch.length) yield Buffer.from(`${batch.join('\r\n')}\r\n`, 'latin1');
  };
  if (variant === 'zm') {
    const out = createWriteStream(path);
    for (const chunk of zmChunks()) if (!out.write(chunk)) await once(out, 'drain');
    out.end();
    await once(out, 'close');
    return;
  }
  const next = new Date(Date.parse(`${options.date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  // The RD entry is rendered after the ZM entry has been streamed, when the totals are known.
  const rd = function* (): Generator<Buffer> {
    yield encodeText(renderRd({ merId, date: options.date, currency: 'CNY', generated: next, byType: [...byType.entries()], total }), 'gbk');
  };
  await writeZip(path, [{ name: names.zm, data: zmChunks() }, { name: names.rd, data: rd() }], Date.parse(`${next}T00:00:00Z`));
}
