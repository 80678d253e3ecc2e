/** Reads WeChat Pay trade and fund-flow bills as streams (the format is described in bill.ts). */
import { type BatchedBillRows, batchedBillRows, type BillRow, type BillSource, type ReadBillOptions } from '../../src/channel/contract.js';
import { invalid } from '../../src/core/errors.js';
import { currencyExponent, formatAmount, normalizeCurrency, parseAmount } from '../../src/core/money.js';
import { isoUtc, parseDate } from '../../src/core/time.js';
import { FEE_EXTRA_DECIMALS, Totals } from './bill-format.js';
import { BillLines, damaged, indexer, plainDecimal, readLines, RowScanner, wallToMs } from './bill-lines.js';

// ---------------------------------------------------------------------------------------------
// Reading

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

function checkDate(ctx: Ctx, line: number, candidates: number[]): void {
  const want = ctx.options.date;
  if (!want) return;
  const from = ctx.dayStart!;
  if (candidates.some((ms) => ms >= from && ms < from + 86_400_000)) return;
  throw invalid(`${ctx.path}:${line}: the row is dated ${shanghaiDate(candidates[0])} (UTC+8), but the bill should cover ${want}`, {
    hint: 'This looks like the bill of another day: check the file and --date.',
  });
}

async function* readTradeBill(ctx: Ctx, lines: AsyncIterable<string[]>, headerLine: string, headerLineNo: number): AsyncGenerator<BillRow[]> {
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
  for await (const chunk of lines) {
    const out: BillRow[] = [];
    for (const line of chunk) {
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
        out.push({
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
        });
      } else {
        if (ctx.dayStart !== undefined && !(tradeTime >= ctx.dayStart && tradeTime < ctx.dayStart + 86_400_000)) checkDate(ctx, lineNo, [tradeTime]);
        out.push({
          line: lineNo,
          orderNo: none(get(c.orderNo)),
          channelTradeNo: none(get(c.transactionId)),
          kind: 'payment',
          amountMinor: c.orderAmount >= 0 ? orderAmount : settlement,
          feeMinor: feeToMinor(fee5, FEE_EXTRA_DECIMALS),
          currency,
          time: iso(tradeTime),
          status: state,
        });
      }
    }
    if (out.length) yield out;
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

async function* readFundFlow(ctx: Ctx, lines: AsyncIterable<string[]>, headerLine: string, headerLineNo: number): AsyncGenerator<BillRow[]> {
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
  for await (const chunk of lines) {
    const out: BillRow[] = [];
    for (const line of chunk) {
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
        out.push({ ...base, kind: 'fee', orderNo: none(get(c.voucher)), amountMinor: 0, feeMinor: -signed });
      } else if (type === '交易') {
        out.push({ ...base, kind: 'payment', orderNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 });
      } else if (type === '退款') {
        out.push({ ...base, kind: 'refund', refundNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 });
      } else if (/企业付款|商家转账|转账/.test(words)) {
        out.push({ ...base, kind: 'payout', orderNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 });
      } else {
        out.push({ ...base, kind: 'adjustment', orderNo: none(get(c.voucher)), amountMinor: signed, feeMinor: 0 });
      }
    }
    if (out.length) yield out;
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

/**
 * Streams the rows of a WeChat Pay trade bill or fund-flow bill (plain or gzip), row by row or a
 * chunk of the file at a time (`batches()`: no promise and no generator step per row).
 */
export function readWechatBill(source: BillSource, options: ReadBillOptions = {}): BatchedBillRows {
  return batchedBillRows(() => readWechatBillChunks(source, options));
}

/** The rows of a bill, an array per chunk of lines read. */
async function* readWechatBillChunks(source: BillSource, options: ReadBillOptions): AsyncGenerator<BillRow[]> {
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
