/** Reads WeChat Pay trade and fund-flow bills as streams (the format is described in bill.ts). */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BillRow, BillSource, ReadBillOptions } from '../../src/channel/contract.js';
import { invalid, isPayError, type PayError } from '../../src/core/errors.js';
import { currencyExponent, formatAmount, normalizeCurrency, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate, wallTimeToUtc } from '../../src/core/time.js';
import { FEE_EXTRA_DECIMALS, TIME_ZONE, Totals } from './bill-format.js';

// ---------------------------------------------------------------------------------------------
// Reading

function damaged(path: string, line: number, message: string, hint = 'The bill looks damaged or truncated; download it again.'): PayError {
  return invalid(`${path}:${line}: ${message}`, { hint });
}

/**
 * Yields the lines of a plain or gzip file, decoded strictly as UTF-8 (BOM dropped), a chunk's
 * worth at a time (one await per chunk, not per line: the million-row path).
 */
async function* readLines(path: string): AsyncGenerator<string[]> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      head = Buffer.alloc(2);
      const { bytesRead } = await fh.read(head, 0, 2, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw invalid(`cannot read bill ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const input: Readable = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (err) => input.destroy(err));
  let rest = '';
  let first = true;
  let offset = 0;
  // Strict UTF-8 without a streaming decoder: a character cut by the chunk's end waits for the
  // next chunk, and each whole part is validated (simdutf) before it is turned into text.
  let carry: Buffer | undefined;
  const decode = (chunk?: Buffer): string => {
    let buf = carry ? (chunk ? Buffer.concat([carry, chunk]) : carry) : chunk;
    carry = undefined;
    if (!buf || buf.length === 0) return '';
    if (chunk) {
      let i = buf.length - 1;
      while (i > 0 && buf.length - i < 4 && (buf[i] & 0xc0) === 0x80) i--;
      const lead = buf[i];
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (buf.length - i < need) {
        carry = buf.subarray(i);
        buf = buf.subarray(0, i);
      }
    }
    if (!isUtf8(buf)) {
      throw invalid(`${path} is not UTF-8 text (near byte ${offset})`, {
        hint: 'WeChat Pay bills are UTF-8. A file opened and re-saved in Excel is often GBK: use the file as downloaded.',
      });
    }
    return buf.toString('utf8');
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let text = rest + decode(chunk);
      offset += chunk.length;
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (let i = 0; i < parts.length; i++) if (parts[i].endsWith('\r')) parts[i] = parts[i].slice(0, -1);
      if (parts.length) yield parts;
    }
    const tail = rest + decode();
    if (tail !== '') yield [tail.endsWith('\r') ? tail.slice(0, -1) : tail];
  } catch (err) {
    if (isPayError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (gzip && code?.startsWith('Z_')) throw invalid(`${path} is a damaged gzip file (${code})`, { hint: 'Download the bill again.' });
    throw invalid(`cannot read bill ${path} (${code ?? (err as Error).message})`);
  } finally {
    input.destroy();
    file.destroy();
  }
}

/** Splits a backtick row (`` `a,`b,`c ``) into its fields. */
function splitRow(line: string): string[] {
  return line.slice(1).split(',`').map((c) => c.trim());
}

/**
 * Where a backtick row's cells are, found without cutting the row up; a cell is cut (and trimmed)
 * only when read. The million-row path: a trade row has 27 cells and the reader uses about half.
 */
class RowScanner {
  private starts = new Int32Array(32);
  private ends = new Int32Array(32);
  private count = 0;
  private line = '';

  /** Finds the cells of a data row (it starts with a backtick); returns how many there are. */
  scan(line: string): number {
    this.line = line;
    let n = 0;
    let start = 1;
    for (;;) {
      if (n === this.starts.length) {
        const grow = (a: Int32Array) => {
          const b = new Int32Array(a.length * 2);
          b.set(a);
          return b;
        };
        this.starts = grow(this.starts);
        this.ends = grow(this.ends);
      }
      const at = line.indexOf(',`', start);
      this.starts[n] = start;
      this.ends[n++] = at < 0 ? line.length : at;
      if (at < 0) break;
      start = at + 2;
    }
    return (this.count = n);
  }

  /** Cell i, trimmed; '' for a column the bill lacks (-1). */
  cell(i: number): string {
    return i >= 0 && i < this.count ? this.line.substring(this.starts[i], this.ends[i]).trim() : '';
  }
}

/**
 * A plain decimal (`-12.34`) with at most `decimals` places as an integer of 10^-decimals;
 * undefined for anything else, which the exact parser then explains (or takes). The fast path of
 * a big bill: no regex, no allocation.
 */
function plainDecimal(text: string, decimals: number): number | undefined {
  const n = text.length;
  if (n === 0 || n > 17) return undefined;
  let i = 0;
  const neg = text.charCodeAt(0) === 45;
  if (neg) i = 1;
  let v = 0;
  let whole = 0;
  let frac = -1;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      if (frac >= 0) frac++;
      else whole++;
    } else if (c === 46 && frac < 0 && whole > 0) frac = 0;
    else return undefined;
  }
  if (whole === 0 || frac === 0 || frac > decimals) return undefined;
  v *= 10 ** (decimals - (frac < 0 ? 0 : frac));
  if (!Number.isSafeInteger(v)) return undefined;
  return neg ? 0 - v : v;
}

/** {@link wallToMs} without the regex, for `YYYY-MM-DD HH:MM:SS` from 1992 on; undefined otherwise. */
function fastWallToMs(t: string): number | undefined {
  if (t.length !== 19 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(10) !== 32 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return undefined;
  const d = (at: number) => {
    const a = t.charCodeAt(at) - 48;
    const b = t.charCodeAt(at + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
  };
  const hi = d(0);
  const lo = d(2);
  const mo = d(5);
  const dd = d(8);
  const h = d(11);
  const mi = d(14);
  const se = d(17);
  if (hi < 0 || lo < 0 || mo < 0 || dd < 0 || h < 0 || mi < 0 || se < 0) return undefined;
  const y = hi * 100 + lo;
  if (y < 1992) return undefined;
  return Date.UTC(y, mo - 1, dd, h, mi, se) - 8 * 3600_000;
}

/** `2021-01-28 17:07:11` (UTC+8) -> UTC ms; undefined when not a date-time. */
function wallToMs(text: string): number | undefined {
  const fast = fastWallToMs(text);
  if (fast !== undefined) return fast;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const y = Number(m[1]);
  // China has kept UTC+8 without DST since 1992: a fixed offset is exact and fast for big files.
  if (y >= 1992) return Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - 8 * 3600_000;
  return wallTimeToUtc(text, TIME_ZONE);
}

/** The UTC+8 calendar date of an instant. */
function shanghaiDate(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
}


/** An empty or `0` cell means none. */
const none = (v: string) => (v === '' || v === '0' ? undefined : v);

/** Fee at 5 decimals (10^-5 yuan) -> fen, half away from zero, exactly. */
function feeToMinor(fee5: number, extra: number): number {
  const factor = 10 ** extra;
  const a = Math.abs(fee5);
  const q = Math.floor(a / factor) + (a % factor >= factor / 2 ? 1 : 0);
  return fee5 < 0 ? -q : q;
}


interface Ctx {
  path: string;
  options: ReadBillOptions;
  /** Start of options.date's UTC+8 day (UTC ms), when a date is given. */
  dayStart?: number;
}

function amountAt(ctx: Ctx, line: number, text: string, currency: string, label: string, extra = 0): number {
  try {
    const exp = currencyExponent(currency) + extra;
    return parseAmount(text, currency, { allowZero: true, allowNegative: true, label, overrides: { [currency]: exp } });
  } catch (err) {
    throw damaged(ctx.path, line, (err as Error).message, 'An amount in the bill is not a plain decimal: the file is damaged or was edited.');
  }
}

const TRADE_REQUIRED = ['交易时间', '商户号', '微信订单号', '商户订单号', '交易状态', '货币种类', '应结订单金额', '手续费'];
const FUND_REQUIRED = ['记账时间', '微信支付业务单号', '业务类型', '收支类型', '收支金额', '业务凭证号'];

/** Column index by name; amount columns may carry a unit suffix such as "(元)". */
function indexer(header: string[]): (name: string) => number {
  const map = new Map<string, number>();
  header.forEach((h, i) => {
    map.set(h, i);
    map.set(h.replace(/[（(][^)）]*[)）]$/, ''), i);
  });
  return (name) => map.get(name) ?? -1;
}

function checkDate(ctx: Ctx, line: number, candidates: number[]): void {
  const want = ctx.options.date;
  if (!want) return;
  const from = ctx.dayStart!;
  if (candidates.some((ms) => ms >= from && ms < from + 86_400_000)) return;
  throw invalid(`${ctx.path}:${line}: the row is dated ${shanghaiDate(candidates[0])} (UTC+8), but the bill should cover ${want}`, {
    hint: 'This looks like the bill of another day: check the file and --date.',
  });
}

/**
 * The line grammar both WeChat bills share: data rows (each cell prefixed with a backtick, as
 * many as the header), then a summary header line starting with `summaryStart` and one summary
 * row, nothing after. {@link fields} returns a data row's cells, or undefined for a line it took
 * (blank, summary); {@link end} returns the summary once the lines run out.
 */
class BillLines {
  lineNo: number;
  private summaryHeader: string[] | undefined;
  private summary: string[] | undefined;
  constructor(
    private readonly path: string,
    private readonly width: number,
    private readonly summaryStart: string,
    headerLineNo: number,
  ) {
    this.lineNo = headerLineNo;
  }

  /** Cells of the next line when it is a data row; undefined for a blank or summary line. */
  fields(line: string): string[] | undefined {
    if (!this.isData(line)) return undefined;
    const f = splitRow(line);
    if (f.length !== this.width) throw damaged(this.path, this.lineNo, `expected ${this.width} fields, found ${f.length}`);
    return f;
  }

  /** {@link fields} through a scanner: true when the line is a data row, its cells in `row`. */
  scan(line: string, row: RowScanner): boolean {
    if (!this.isData(line)) return false;
    const n = row.scan(line);
    if (n !== this.width) throw damaged(this.path, this.lineNo, `expected ${this.width} fields, found ${n}`);
    return true;
  }

  /** Takes the next line: true for a data row (not yet split), false for a blank or summary line. */
  private isData(line: string): boolean {
    const lineNo = ++this.lineNo;
    if (line.trim() === '') return false;
    if (this.summary) throw damaged(this.path, lineNo, 'data after the summary row');
    if (this.summaryHeader) {
      if (!line.startsWith('`')) throw damaged(this.path, lineNo, 'the summary header is not followed by a summary row');
      this.summary = splitRow(line);
      if (this.summary.length !== this.summaryHeader.length) throw damaged(this.path, lineNo, `summary has ${this.summary.length} fields, its header ${this.summaryHeader.length}`);
      return false;
    }
    if (line.startsWith(this.summaryStart)) {
      this.summaryHeader = line.split(',').map((h) => h.trim());
      return false;
    }
    if (!line.startsWith('`')) throw damaged(this.path, lineNo, `unexpected line ${JSON.stringify(line.slice(0, 40))}`);
    return true;
  }

  /** The summary row and a column finder over its header; a bill without one is truncated. */
  end(rows: number): { summary: string[]; col: (name: string) => number } {
    if (!this.summaryHeader || !this.summary) {
      throw damaged(this.path, this.lineNo, `no summary section (${this.summaryStart}...) after ${rows} row${rows === 1 ? '' : 's'}: the file is truncated`);
    }
    return { summary: this.summary, col: indexer(this.summaryHeader) };
  }
}

async function* readTradeBill(ctx: Ctx, lines: AsyncIterable<string[]>, headerLine: string, headerLineNo: number): AsyncGenerator<BillRow> {
  const header = headerLine.split(',').map((h) => h.trim());
  const col = indexer(header);
  const missing = TRADE_REQUIRED.filter((c) => col(c) < 0);
  if (missing.length) throw damaged(ctx.path, headerLineNo, `trade bill header lacks ${missing.join(', ')}`);
  const c = {
    time: col('交易时间'),
    mch: col('商户号'),
    subMch: col('特约商户号'),
    transactionId: col('微信订单号'),
    orderNo: col('商户订单号'),
    state: col('交易状态'),
    currency: col('货币种类'),
    settlement: col('应结订单金额'),
    refundApply: col('退款申请时间'),
    refundSuccess: col('退款成功时间'),
    refundId: col('微信退款单号'),
    refundNo: col('商户退款单号'),
    refundAmount: col('退款金额'),
    rechargeRefund: col('充值券退款金额'),
    refundStatus: col('退款状态'),
    fee: col('手续费'),
    orderAmount: col('订单金额'),
    requestRefund: col('申请退款金额'),
  };
  const totals = new Totals();
  let rows = 0;
  const bill = new BillLines(ctx.path, header.length, '总交易单数', headerLineNo);
  let currencyText = '';
  let currency = 'CNY';
  let exp = currencyExponent(currency);
  // Running sums of the summary's totals (exact integers, checked against the safe range at the end).
  let sumSettlement = 0;
  let sumRefund = 0;
  let sumRecharge = 0;
  let sumFee = 0;
  let sumOrder = 0;
  let sumRequest = 0;
  // Consecutive rows often share a second: the last conversion is reused.
  let lastTimeText = '';
  let lastTime: number | undefined;
  let lastIsoMs = Number.NaN;
  let lastIso = '';
  const iso = (ms: number) => (ms === lastIsoMs ? lastIso : ((lastIsoMs = ms), (lastIso = isoUtc(ms))));
  const row = new RowScanner();
  const get = (i: number) => row.cell(i);
  for await (const chunk of lines) for (const line of chunk) {
    if (!bill.scan(line, row)) continue;
    const lineNo = bill.lineNo;
    const currencyCell = get(c.currency);
    if (currencyCell !== currencyText) {
      try {
        currency = normalizeCurrency(currencyCell);
        exp = currencyExponent(currency);
      } catch (err) {
        throw damaged(ctx.path, lineNo, (err as Error).message);
      }
      currencyText = currencyCell;
    }
    if (ctx.options.merchantId) {
      const mch = get(c.mch);
      if (mch !== ctx.options.merchantId && get(c.subMch) !== ctx.options.merchantId) {
        throw invalid(`${ctx.path}:${lineNo}: the row belongs to merchant ${mch}, not ${ctx.options.merchantId}`, { hint: 'This is the bill of another merchant id: check the file and channels.wechatpay.mchId.' });
      }
    }
    const timeCell = get(c.time);
    if (timeCell !== lastTimeText) {
      lastTime = wallToMs(timeCell);
      lastTimeText = timeCell;
    }
    const tradeTime = lastTime;
    if (tradeTime === undefined) throw damaged(ctx.path, lineNo, `交易时间 "${timeCell.slice(0, 30)}" is not a date-time`);
    const amt = (i: number, label: string, extra = 0) => {
      if (i < 0) return 0;
      const text = get(i);
      if (text === '') return 0;
      return plainDecimal(text, exp + extra) ?? amountAt(ctx, lineNo, text, currency, label, extra);
    };
    const settlement = amt(c.settlement, '应结订单金额');
    const refundAmount = amt(c.refundAmount, '退款金额');
    const rechargeRefund = amt(c.rechargeRefund, '充值券退款金额');
    const orderAmount = amt(c.orderAmount, '订单金额');
    const requestRefund = amt(c.requestRefund, '申请退款金额');
    const fee5 = amt(c.fee, '手续费', FEE_EXTRA_DECIMALS);
    sumSettlement += settlement;
    sumRefund += refundAmount;
    sumRecharge += rechargeRefund;
    sumFee += fee5;
    sumOrder += orderAmount;
    sumRequest += requestRefund;
    rows++;
    const state = get(c.state);
    const isRefund = state === 'REFUND' || (state !== 'SUCCESS' && (refundAmount !== 0 || requestRefund !== 0));
    if (isRefund) {
      const success = c.refundSuccess >= 0 ? wallToMs(get(c.refundSuccess)) : undefined;
      const apply = c.refundApply >= 0 ? wallToMs(get(c.refundApply)) : undefined;
      const time = success ?? apply ?? tradeTime;
      checkDate(ctx, lineNo, [time, ...[apply, tradeTime].filter((x): x is number => x !== undefined)]);
      yield {
        line: lineNo,
        orderNo: none(get(c.orderNo)),
        channelTradeNo: none(get(c.refundId)),
        kind: 'refund',
        refundNo: none(get(c.refundNo)),
        amountMinor: -(c.requestRefund >= 0 ? requestRefund : refundAmount),
        feeMinor: feeToMinor(fee5, FEE_EXTRA_DECIMALS),
        currency,
        time: iso(time),
        status: none(get(c.refundStatus)) ?? state,
      };
    } else {
      if (ctx.dayStart !== undefined && !(tradeTime >= ctx.dayStart && tradeTime < ctx.dayStart + 86_400_000)) checkDate(ctx, lineNo, [tradeTime]);
      yield {
        line: lineNo,
        orderNo: none(get(c.orderNo)),
        channelTradeNo: none(get(c.transactionId)),
        kind: 'payment',
        amountMinor: c.orderAmount >= 0 ? orderAmount : settlement,
        feeMinor: feeToMinor(fee5, FEE_EXTRA_DECIMALS),
        currency,
        time: iso(tradeTime),
        status: state,
      };
    }
  }
  for (const [name, v] of [
    ['应结订单总金额', sumSettlement],
    ['退款总金额', sumRefund],
    ['充值券退款总金额', sumRecharge],
    ['手续费总金额', sumFee],
    ['订单总金额', sumOrder],
    ['申请退款总金额', sumRequest],
  ] as const) totals.add(name, v);
  const { summary, col: s } = bill.end(rows);
  const lineNo = bill.lineNo;
  const count = summary[s('总交易单数')];
  if (count === undefined || !/^\d+$/.test(count)) throw damaged(ctx.path, lineNo, 'the summary has no 总交易单数 count');
  if (Number(count) !== rows) throw damaged(ctx.path, lineNo, `the summary counts ${count} rows, the file has ${rows}`);
  const checks: Array<[string, number]> = [
    ['应结订单总金额', 0],
    ['退款总金额', 0],
    ['充值券退款总金额', 0],
    ['手续费总金额', FEE_EXTRA_DECIMALS],
    ['订单总金额', 0],
    ['申请退款总金额', 0],
  ];
  for (const [name, extra] of checks) {
    const i = s(name);
    if (i < 0) continue;
    const want = amountAt(ctx, lineNo, summary[i], currency, name, extra);
    const got = totals.get(name);
    if (want !== got) {
      const exp = currencyExponent(currency) + extra;
      const fmt = (v: number) => formatAmount(v, currency, { [currency]: exp });
      throw damaged(ctx.path, lineNo, `the summary says ${name} ${fmt(want)}, the rows add up to ${fmt(got)}`);
    }
  }
}

async function* readFundFlow(ctx: Ctx, lines: AsyncIterable<string[]>, headerLine: string, headerLineNo: number): AsyncGenerator<BillRow> {
  const header = headerLine.split(',').map((h) => h.trim());
  const col = indexer(header);
  const missing = FUND_REQUIRED.filter((c) => col(c) < 0);
  if (missing.length) throw damaged(ctx.path, headerLineNo, `fund-flow bill header lacks ${missing.join(', ')}`);
  const c = {
    time: col('记账时间'),
    bizNo: col('微信支付业务单号'),
    flowNo: col('资金流水单号'),
    bizName: col('业务名称'),
    bizType: col('业务类型'),
    direction: col('收支类型'),
    amount: col('收支金额'),
    voucher: col('业务凭证号'),
  };
  const currency = 'CNY';
  let rows = 0;
  let incomeCount = 0;
  let incomeSum = 0;
  let expenseCount = 0;
  let expenseSum = 0;
  const bill = new BillLines(ctx.path, header.length, '资金流水总笔数', headerLineNo);
  for await (const chunk of lines) for (const line of chunk) {
    const f = bill.fields(line);
    if (!f) continue;
    const lineNo = bill.lineNo;
    const get = (i: number) => (i >= 0 ? f[i] : '');
    const time = wallToMs(get(c.time));
    if (time === undefined) throw damaged(ctx.path, lineNo, `记账时间 "${get(c.time).slice(0, 30)}" is not a date-time`);
    checkDate(ctx, lineNo, [time]);
    const amount = amountAt(ctx, lineNo, get(c.amount), currency, '收支金额');
    if (amount < 0) throw damaged(ctx.path, lineNo, '收支金额 is negative; the direction is in 收支类型');
    const dir = get(c.direction);
    if (dir !== '收入' && dir !== '支出') throw damaged(ctx.path, lineNo, `收支类型 "${dir.slice(0, 10)}" is neither 收入 nor 支出`);
    const signed = dir === '收入' ? amount : -amount;
    if (dir === '收入') {
      incomeCount++;
      incomeSum += amount;
    } else {
      expenseCount++;
      expenseSum += amount;
    }
    rows++;
    const type = get(c.bizType);
    const name = get(c.bizName);
    const words = `${type}|${name}`;
    const base = { line: lineNo, currency, time: isoUtc(time), status: type || undefined, channelTradeNo: none(get(c.bizNo)) };
    if (/手续费/.test(words)) {
      yield { ...base, kind: 'fee', orderNo: none(get(c.voucher)), amountMinor: 0, feeMinor: -signed };
    } else if (type === '交易') {
      yield { ...base, kind: 'payment', orderNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 };
    } else if (type === '退款') {
      yield { ...base, kind: 'refund', refundNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 };
    } else if (/企业付款|商家转账|转账/.test(words)) {
      yield { ...base, kind: 'payout', orderNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 };
    } else {
      yield { ...base, kind: 'adjustment', orderNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 };
    }
  }
  const { summary, col: s } = bill.end(rows);
  const lineNo = bill.lineNo;
  const num = (name: string): number | undefined => {
    const v = summary[s(name)];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const total = num('资金流水总笔数');
  if (total === undefined) throw damaged(ctx.path, lineNo, 'the summary has no 资金流水总笔数 count');
  const problems: string[] = [];
  if (total !== rows) problems.push(`资金流水总笔数 ${total}, the file has ${rows} rows`);
  const ic = num('收入笔数');
  if (ic !== undefined && ic !== incomeCount) problems.push(`收入笔数 ${ic}, the file has ${incomeCount}`);
  const ec = num('支出笔数');
  if (ec !== undefined && ec !== expenseCount) problems.push(`支出笔数 ${ec}, the file has ${expenseCount}`);
  for (const [name, got] of [
    ['收入金额', incomeSum],
    ['支出金额', expenseSum],
  ] as const) {
    const i = s(name);
    if (i < 0) continue;
    const want = amountAt(ctx, lineNo, summary[i], currency, name);
    if (want !== got) problems.push(`${name} ${formatAmount(want, currency)}, the rows add up to ${formatAmount(got, currency)}`);
  }
  if (problems.length) throw damaged(ctx.path, lineNo, `the summary disagrees with the rows: ${problems.join('; ')}`);
}

/** Streams the rows of a WeChat Pay trade bill or fund-flow bill (plain or gzip). */
export async function* readWechatBill(source: BillSource, options: ReadBillOptions = {}): AsyncGenerator<BillRow> {
  if (options.date) parseDate(options.date);
  const ctx: Ctx = { path: source.path, options, dayStart: options.date ? Date.parse(`${options.date}T00:00:00+08:00`) : undefined };
  const chunks = readLines(source.path);
  try {
    let first: string | undefined;
    let headerLine = 0;
    let head: string[] = [];
    find: for (;;) {
      const next = await chunks.next();
      if (next.done) break;
      for (let i = 0; i < next.value.length; i++) {
        headerLine++;
        if (next.value[i].trim() !== '') {
          first = next.value[i];
          head = next.value.slice(i + 1);
          break find;
        }
      }
    }
    // The header's chunk's remaining lines, then the rest of the file.
    const lines = (async function* () {
      if (head.length) yield head;
      for (;;) {
        const next = await chunks.next();
        if (next.done) return;
        yield next.value;
      }
    })();
    if (first === undefined) throw invalid(`${source.path} is empty`, { hint: 'Download the bill again; a day without transactions has no bill (NO_STATEMENT_EXIST).' });
    if (first.startsWith('交易时间,')) yield* readTradeBill(ctx, lines, first, headerLine);
    else if (first.startsWith('记账时间,')) yield* readFundFlow(ctx, lines, first, headerLine);
    else if (first.trimStart().startsWith('{')) {
      throw invalid(`${source.path} is not a bill but a JSON answer: ${first.slice(0, 120)}`, { hint: 'The download failed; fetch the bill again.' });
    } else {
      throw invalid(`${source.path} is not a WeChat Pay trade or fund-flow bill (it starts ${JSON.stringify(first.slice(0, 30))})`, {
        hint: 'Give the file as downloaded (plain CSV or .gz): its first line is 交易时间,... or 记账时间,....',
      });
    }
  } finally {
    await chunks.return(undefined);
  }
}
