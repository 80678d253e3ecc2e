/**
 * WeChat Pay bills: the trade bill (交易账单: ALL, SUCCESS, REFUND) and the fund-flow bill
 * (资金账单), read as streams and written in the real format.
 *
 * Format (UTF-8, sometimes with a BOM; gzip when downloaded with tar_type=GZIP):
 *
 *   交易时间,公众账号ID,商户号,...,费率备注            <- header, plain
 *   `2021-01-28 17:07:11,`wx81be3101902f7cb2,`...       <- one row per line, every field prefixed
 *   总交易单数,应结订单总金额,退款总金额,...             <- summary header
 *   `3,`0.03,`0.00,...                                 <- summary row
 *
 * Fields are split on ",`" (a product name may hold a plain comma). Columns are found by name,
 * not position: the three trade-bill types and their revisions differ (the REFUND bill adds
 * 退款申请时间 and 退款成功时间). Times are wall-clock UTC+8. Amounts are yuan with 2 decimals; fees
 * (手续费) have 5, and are rounded half up to fen per row while the summary is checked exactly.
 *
 * Normalisation (BillRow): a payment row is `payment` with +订单金额 (the order's full amount,
 * as the merchant asked; 应结订单金额 when the column is absent); a refund row (交易状态 REFUND)
 * is `refund` with -申请退款金额 (else -退款金额), refundNo 商户退款单号, channelTradeNo 微信退款单号
 * (the channel's id of the refund, as the mock channel does), dated by 退款成功时间, else
 * 退款申请时间, else 交易时间. Fund-flow rows: 交易 payment, 退款 refund, 企业付款/商家转账
 * payout, fees `fee` (amount 0, feeMinor charged), anything else `adjustment`; sign from 收支类型.
 *
 * Damage is INVALID_REQUEST (exit 2): no summary (truncated), summary totals or counts that
 * disagree with the rows, rows after the summary, a field count off the header, an amount like
 * `1,000.00` or `abc`, bytes that are not UTF-8, a day other than `options.date`, another merchant.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { BillReader, BillRow, BillSource, ReadBillOptions, WriteBillOptions } from '../../src/channel/contract.js';
import { invalid, isPayError, type PayError } from '../../src/core/errors.js';
import { currencyExponent, formatAmount, normalizeCurrency, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate, wallTimeToUtc } from '../../src/core/time.js';

const TIME_ZONE = 'Asia/Shanghai';

/** Extra detail a writer may be given (the simulator knows it; plain BillRows get defaults). */
export interface WechatBillRow extends BillRow {
  /** 微信订单号 of the payment (on refund rows too). */
  transactionId?: string;
  appId?: string;
  openid?: string;
  /** NATIVE, JSAPI, MWEB... */
  tradeType?: string;
  /** For refund rows: when the original payment was made (ISO UTC). */
  paidTime?: string;
  /** For refund rows: when the refund was requested (ISO UTC); defaults to `time`. */
  refundApplyTime?: string;
  productName?: string;
  /** 费率, e.g. `0.60%`. */
  feeRate?: string;
}

/** Trade bill variants (bill_type) plus the fund-flow bill. */
export type WechatBillVariant = 'ALL' | 'SUCCESS' | 'REFUND' | 'FUNDFLOW';

// ---------------------------------------------------------------------------------------------
// Reading

function damaged(path: string, line: number, message: string, hint = 'The bill looks damaged or truncated; download it again.'): PayError {
  return invalid(`${path}:${line}: ${message}`, { hint });
}

/** Yields the lines of a plain or gzip file, decoded strictly as UTF-8 (BOM dropped). */
async function* readLines(path: string): AsyncGenerator<string> {
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
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let first = true;
  let offset = 0;
  const decode = (chunk?: Buffer): string => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw invalid(`${path} is not UTF-8 text (near byte ${offset})`, {
        hint: 'WeChat Pay bills are UTF-8. A file opened and re-saved in Excel is often GBK: use the file as downloaded.',
      });
    }
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
      for (const p of parts) yield p.endsWith('\r') ? p.slice(0, -1) : p;
    }
    const tail = rest + decode();
    if (tail !== '') yield tail.endsWith('\r') ? tail.slice(0, -1) : tail;
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

/** `2021-01-28 17:07:11` (UTC+8) -> UTC ms; undefined when not a date-time. */
function wallToMs(text: string): number | undefined {
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

/** An exact running total in minor units of a given exponent. */
class Totals {
  private sums = new Map<string, number>();
  add(key: string, v: number): void {
    const next = (this.sums.get(key) ?? 0) + v;
    if (!Number.isSafeInteger(next)) throw invalid('bill totals exceed the safe integer range');
    this.sums.set(key, next);
  }
  get(key: string): number {
    return this.sums.get(key) ?? 0;
  }
}

/** Fee at 5 decimals (10^-5 yuan) -> fen, half away from zero, exactly. */
function feeToMinor(fee5: number, extra: number): number {
  const factor = 10 ** extra;
  const a = Math.abs(fee5);
  const q = Math.floor(a / factor) + (a % factor >= factor / 2 ? 1 : 0);
  return fee5 < 0 ? -q : q;
}

/** Extra fee decimals beyond the currency's exponent (5 for CNY: 3 more than fen). */
const FEE_EXTRA_DECIMALS = 3;

interface Ctx {
  path: string;
  options: ReadBillOptions;
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
  if (candidates.some((ms) => shanghaiDate(ms) === want)) return;
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
    const lineNo = ++this.lineNo;
    if (line.trim() === '') return undefined;
    if (this.summary) throw damaged(this.path, lineNo, 'data after the summary row');
    if (this.summaryHeader) {
      if (!line.startsWith('`')) throw damaged(this.path, lineNo, 'the summary header is not followed by a summary row');
      this.summary = splitRow(line);
      if (this.summary.length !== this.summaryHeader.length) throw damaged(this.path, lineNo, `summary has ${this.summary.length} fields, its header ${this.summaryHeader.length}`);
      return undefined;
    }
    if (line.startsWith(this.summaryStart)) {
      this.summaryHeader = line.split(',').map((h) => h.trim());
      return undefined;
    }
    if (!line.startsWith('`')) throw damaged(this.path, lineNo, `unexpected line ${JSON.stringify(line.slice(0, 40))}`);
    const f = splitRow(line);
    if (f.length !== this.width) throw damaged(this.path, lineNo, `expected ${this.width} fields, found ${f.length}`);
    return f;
  }

  /** The summary row and a column finder over its header; a bill without one is truncated. */
  end(rows: number): { summary: string[]; col: (name: string) => number } {
    if (!this.summaryHeader || !this.summary) {
      throw damaged(this.path, this.lineNo, `no summary section (${this.summaryStart}...) after ${rows} row${rows === 1 ? '' : 's'}: the file is truncated`);
    }
    return { summary: this.summary, col: indexer(this.summaryHeader) };
  }
}

async function* readTradeBill(ctx: Ctx, lines: AsyncGenerator<string>, headerLine: string, headerLineNo: number): AsyncGenerator<BillRow> {
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
  for await (const line of lines) {
    const f = bill.fields(line);
    if (!f) continue;
    const lineNo = bill.lineNo;
    const get = (i: number) => (i >= 0 ? f[i] : '');
    if (get(c.currency) !== currencyText) {
      try {
        currency = normalizeCurrency(get(c.currency));
      } catch (err) {
        throw damaged(ctx.path, lineNo, (err as Error).message);
      }
      currencyText = get(c.currency);
    }
    const mch = get(c.mch);
    if (ctx.options.merchantId && mch !== ctx.options.merchantId && get(c.subMch) !== ctx.options.merchantId) {
      throw invalid(`${ctx.path}:${lineNo}: the row belongs to merchant ${mch}, not ${ctx.options.merchantId}`, { hint: 'This is the bill of another merchant id: check the file and channels.wechatpay.mchId.' });
    }
    const tradeTime = wallToMs(get(c.time));
    if (tradeTime === undefined) throw damaged(ctx.path, lineNo, `交易时间 "${get(c.time).slice(0, 30)}" is not a date-time`);
    const amt = (i: number, label: string) => (i >= 0 && get(i) !== '' ? amountAt(ctx, lineNo, get(i), currency, label) : 0);
    const settlement = amt(c.settlement, '应结订单金额');
    const refundAmount = amt(c.refundAmount, '退款金额');
    const rechargeRefund = amt(c.rechargeRefund, '充值券退款金额');
    const orderAmount = amt(c.orderAmount, '订单金额');
    const requestRefund = amt(c.requestRefund, '申请退款金额');
    const fee5 = get(c.fee) === '' ? 0 : amountAt(ctx, lineNo, get(c.fee), currency, '手续费', FEE_EXTRA_DECIMALS);
    totals.add('应结订单总金额', settlement);
    totals.add('退款总金额', refundAmount);
    totals.add('充值券退款总金额', rechargeRefund);
    totals.add('手续费总金额', fee5);
    totals.add('订单总金额', orderAmount);
    totals.add('申请退款总金额', requestRefund);
    rows++;
    const state = get(c.state);
    const isRefund = state === 'REFUND' || (state !== 'SUCCESS' && (refundAmount !== 0 || requestRefund !== 0));
    const none = (v: string) => (v === '' || v === '0' ? undefined : v);
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
        time: isoUtc(time),
        status: none(get(c.refundStatus)) ?? state,
      };
    } else {
      checkDate(ctx, lineNo, [tradeTime]);
      yield {
        line: lineNo,
        orderNo: none(get(c.orderNo)),
        channelTradeNo: none(get(c.transactionId)),
        kind: 'payment',
        amountMinor: c.orderAmount >= 0 ? orderAmount : settlement,
        feeMinor: feeToMinor(fee5, FEE_EXTRA_DECIMALS),
        currency,
        time: isoUtc(tradeTime),
        status: state,
      };
    }
  }
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

async function* readFundFlow(ctx: Ctx, lines: AsyncGenerator<string>, headerLine: string, headerLineNo: number): AsyncGenerator<BillRow> {
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
  for await (const line of lines) {
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
    const none = (v: string) => (v === '' || v === '0' ? undefined : v);
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
  const ctx: Ctx = { path: source.path, options };
  const lines = readLines(source.path);
  try {
    let first: string | undefined;
    let headerLine = 0;
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      headerLine++;
      if (next.value.trim() !== '') {
        first = next.value;
        break;
      }
    }
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
    await lines.return(undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const TRADE_HEADERS: Record<Exclude<WechatBillVariant, 'FUNDFLOW'>, string[]> = {
  ALL: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
  SUCCESS: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '费率备注'],
  REFUND: ['交易时间', '公众账号ID', '商户号', '特约商户号', '设备号', '微信订单号', '商户订单号', '用户标识', '交易类型', '交易状态', '付款银行', '货币种类', '应结订单金额', '代金券金额', '退款申请时间', '退款成功时间', '微信退款单号', '商户退款单号', '退款金额', '充值券退款金额', '退款类型', '退款状态', '商品名称', '商户数据包', '手续费', '费率', '订单金额', '申请退款金额', '费率备注'],
};
const TRADE_SUMMARY = ['总交易单数', '应结订单总金额', '退款总金额', '充值券退款总金额', '手续费总金额', '订单总金额', '申请退款总金额'];
const FUND_HEADER = ['记账时间', '微信支付业务单号', '资金流水单号', '业务名称', '业务类型', '收支类型', '收支金额(元)', '账户结余(元)', '资金变更提交申请人', '备注', '业务凭证号'];
const FUND_SUMMARY = ['资金流水总笔数', '收入笔数', '收入金额', '支出笔数', '支出金额'];

/** `2021-01-28 17:07:11` in UTC+8. */
function wall(isoOrMs: string | number): string {
  const ms = typeof isoOrMs === 'number' ? isoOrMs : Date.parse(isoOrMs);
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** A line writer with backpressure, optionally gzip; lines are batched (zlib is slow on tiny chunks). */
async function lineSink(path: string, gzip: boolean) {
  const file = createWriteStream(path);
  const out = gzip ? createGzip() : file;
  if (gzip) out.pipe(file);
  const failed = new Promise<never>((_, reject) => {
    file.once('error', reject);
    out.once('error', reject);
  });
  failed.catch(() => {});
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const chunk = batch.join('');
    batch = [];
    size = 0;
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  };
  return {
    async write(line: string) {
      batch.push(line, '\n');
      size += line.length + 1;
      if (size >= 64 * 1024) await flush();
    },
    async end() {
      await flush();
      out.end();
      await Promise.race([once(file, 'finish'), failed]);
    },
  };
}

const row = (cells: string[]) => cells.map((v) => `\`${v}`).join(',');

/** Writes a trade bill (ALL, SUCCESS or REFUND) in the real format; gzip when the path ends in .gz. */
export async function writeTradeBill(path: string, rows: Iterable<WechatBillRow>, options: WriteBillOptions & { variant?: string }): Promise<number> {
  const variant = (options.variant ?? 'ALL').toUpperCase() as Exclude<WechatBillVariant, 'FUNDFLOW'>;
  const header = TRADE_HEADERS[variant];
  if (!header) throw invalid(`unknown WeChat Pay bill variant ${options.variant}; use ALL, SUCCESS, REFUND or FUNDFLOW`);
  const sink = await lineSink(path, /\.gz(ip)?$/i.test(path));
  await sink.write(header.join(','));
  const mch = options.merchantId ?? '';
  let count = 0;
  let currency = 'CNY';
  const sum = new Totals();
  for (const r of rows) {
    if (r.kind !== 'payment' && r.kind !== 'refund') throw invalid(`a trade bill has payment and refund rows only, not ${r.kind}; write it as variant FUNDFLOW`);
    // The variants are views: SUCCESS lists payments, REFUND lists refunds, ALL both.
    if ((variant === 'SUCCESS' && r.kind !== 'payment') || (variant === 'REFUND' && r.kind !== 'refund')) continue;
    currency = r.currency;
    const exp = currencyExponent(currency);
    const money = (v: number) => formatAmount(v, currency);
    const fee5 = r.feeMinor * 10 ** FEE_EXTRA_DECIMALS;
    const feeText = formatAmount(fee5, currency, { [currency]: exp + FEE_EXTRA_DECIMALS });
    const refund = r.kind === 'refund';
    const amount = Math.abs(r.amountMinor);
    const v: Record<string, string> = {
      交易时间: wall(refund && variant === 'REFUND' ? (r.paidTime ?? r.time) : r.time),
      公众账号ID: r.appId ?? '',
      商户号: mch,
      特约商户号: '0',
      设备号: '',
      微信订单号: (refund ? r.transactionId : (r.transactionId ?? r.channelTradeNo)) ?? '',
      商户订单号: r.orderNo ?? '',
      用户标识: r.openid ?? '',
      交易类型: r.tradeType ?? 'NATIVE',
      交易状态: refund ? 'REFUND' : (r.status ?? 'SUCCESS'),
      付款银行: 'OTHERS',
      货币种类: currency,
      应结订单金额: money(refund ? 0 : amount),
      代金券金额: money(0),
      退款申请时间: refund ? wall(r.refundApplyTime ?? r.time) : '',
      退款成功时间: refund ? wall(r.time) : '',
      微信退款单号: refund ? (r.channelTradeNo ?? '') : '0',
      商户退款单号: refund ? (r.refundNo ?? '') : '0',
      退款金额: money(refund ? amount : 0),
      充值券退款金额: money(0),
      退款类型: refund ? 'ORIGINAL' : '',
      退款状态: refund ? (r.status ?? 'SUCCESS') : '',
      商品名称: r.productName ?? '',
      商户数据包: '',
      手续费: feeText,
      费率: r.feeRate ?? '0.60%',
      订单金额: money(refund ? 0 : amount),
      申请退款金额: money(refund ? amount : 0),
      费率备注: '',
    };
    await sink.write(row(header.map((h) => v[h])));
    count++;
    sum.add('应结', refund ? 0 : amount);
    sum.add('退款', refund ? amount : 0);
    sum.add('手续费', fee5);
  }
  const exp = currencyExponent(currency);
  await sink.write(TRADE_SUMMARY.join(','));
  await sink.write(
    row([
      String(count),
      formatAmount(sum.get('应结'), currency),
      formatAmount(sum.get('退款'), currency),
      formatAmount(0, currency),
      formatAmount(sum.get('手续费'), currency, { [currency]: exp + FEE_EXTRA_DECIMALS }),
      formatAmount(sum.get('应结'), currency),
      formatAmount(sum.get('退款'), currency),
    ]),
  );
  await sink.end();
  return count;
}

/**
 * Writes a fund-flow bill. A payment or refund row with a fee gets a separate 扣除交易手续费 row
 * (fees leave the account as their own movements); the balance column starts at the smallest
 * opening balance that keeps it from going negative.
 */
export async function writeFundFlowBill(path: string, rows: Iterable<BillRow>, options: WriteBillOptions): Promise<number> {
  interface Entry {
    row: BillRow;
    name: string;
    type: string;
    signed: number;
    voucher: string;
    note: string;
  }
  const entries: Entry[] = [];
  for (const r of rows) {
    const money = (v: number) => formatAmount(Math.abs(v), r.currency);
    if (r.kind === 'payment') entries.push({ row: r, name: '交易', type: '交易', signed: r.amountMinor, voucher: r.orderNo ?? '', note: '' });
    else if (r.kind === 'refund') {
      entries.push({ row: r, name: '退款', type: '退款', signed: r.amountMinor, voucher: r.refundNo ?? '', note: `退款总金额${money(r.amountMinor)}元;含手续费${money(r.feeMinor)}元` });
    } else if (r.kind === 'payout') entries.push({ row: r, name: '商家转账', type: '企业付款', signed: r.amountMinor, voucher: r.orderNo ?? '', note: '' });
    else if (r.kind === 'fee') entries.push({ row: r, name: '扣除交易手续费', type: '手续费', signed: -r.feeMinor, voucher: r.orderNo ?? '', note: '' });
    else entries.push({ row: r, name: '其他', type: '其他', signed: r.amountMinor, voucher: r.orderNo ?? '', note: '' });
    if ((r.kind === 'payment' || r.kind === 'refund') && r.feeMinor !== 0) {
      entries.push({ row: r, name: '扣除交易手续费', type: '手续费', signed: -r.feeMinor, voucher: r.orderNo ?? r.refundNo ?? '', note: '' });
    }
  }
  let running = 0;
  let lowest = 0;
  for (const e of entries) {
    running += e.signed;
    lowest = Math.min(lowest, running);
  }
  let balance = -lowest;
  const sink = await lineSink(path, /\.gz(ip)?$/i.test(path));
  await sink.write(FUND_HEADER.join(','));
  let i = 0;
  let inCount = 0;
  let inSum = 0;
  let outCount = 0;
  let outSum = 0;
  const applicant = `${options.merchantId ?? ''}API`;
  for (const e of entries) {
    i++;
    balance += e.signed;
    const cur = e.row.currency;
    if (e.signed >= 0) {
      inCount++;
      inSum += e.signed;
    } else {
      outCount++;
      outSum -= e.signed;
    }
    await sink.write(
      row([
        wall(e.row.time),
        e.row.channelTradeNo ?? '',
        `${options.date.replace(/-/g, '')}${String(i).padStart(20, '0')}`,
        e.name,
        e.type,
        e.signed >= 0 ? '收入' : '支出',
        formatAmount(Math.abs(e.signed), cur),
        formatAmount(balance, cur),
        applicant,
        e.note,
        e.voucher,
      ]),
    );
  }
  await sink.write(FUND_SUMMARY.join(','));
  await sink.write(row([String(entries.length), String(inCount), formatAmount(inSum, 'CNY'), String(outCount), formatAmount(outSum, 'CNY')]));
  await sink.end();
  return entries.length;
}

/** The channel's bill reader and writer (variant ALL, SUCCESS, REFUND or FUNDFLOW; `.gz` paths are gzip). */
export const wechatpayBills: BillReader = {
  read: readWechatBill,
  write: async (path, rows, options) => {
    if ((options.variant ?? '').toUpperCase() === 'FUNDFLOW') await writeFundFlowBill(path, rows, options);
    else await writeTradeBill(path, rows as WechatBillRow[], options);
  },
};
