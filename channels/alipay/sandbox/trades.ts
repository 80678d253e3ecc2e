/**
 * Trades: precreate (QR), page and wap pay (a cashier page), the QR landing page that opens a
 * trade, query, close, and cancel (closes an unpaid trade, refunds a paid one); trades time out
 * as the clock moves.
 */
import { randomBytes } from 'node:crypto';
import type { SimulatorResponse } from '../../../src/sandbox/contract.js';
import { feeInBasisPoints, htmlPage, randomDigits } from '../../../src/sandbox/helpers.js';
import { formatAmount } from '../../../src/core/money.js';
import { utcToBeijing } from '../beijing-time.js';
import { BUSINESS, INVALID, need, yuanOf, type AlipayHandler, type Ctx, type Trade, type TradeStatus } from './common.js';
import type { AlipaySimulator } from './index.js';

/** The trade methods of the gateway (page and wap pay answer a page, so handle() serves them itself). */
export const tradeMethods: Record<string, AlipayHandler> = {
  'alipay.trade.precreate': (sim, ctx) => precreate(sim, ctx),
  'alipay.trade.query': (sim, ctx) => queryTrade(sim, ctx.biz),
  'alipay.trade.close': (sim, ctx) => closeTrade(sim, ctx.biz),
  'alipay.trade.cancel': (sim, ctx) => cancelTrade(sim, ctx.biz),
};

/**
 * Applies the passage of time: an opened, unpaid trade closes at its timeout; an unopened one
 * simply expires (it never existed for Alipay's queries).
 */
export function settle(sim: AlipaySimulator, t: Trade): Trade {
  if (sim.now() < t.createdMs + t.timeoutMs) return t;
  if (t.status === 'WAIT_BUYER_PAY') {
    t.status = 'TRADE_CLOSED';
    t.closedMs = t.createdMs + t.timeoutMs;
  } else if (t.status === 'NOT_OPENED') t.expired = true;
  return t;
}

export function findTrade(sim: AlipaySimulator, biz: Record<string, unknown>): Trade | undefined {
  const out = typeof biz.out_trade_no === 'string' ? biz.out_trade_no : undefined;
  const tn = typeof biz.trade_no === 'string' ? biz.trade_no : undefined;
  if (!out && !tn) throw INVALID('isv.invalid-parameter', 'out_trade_no和trade_no不能同时为空');
  const t = out ? sim.trades.get(out) : [...sim.trades.values()].find((x) => x.tradeNo === tn);
  return t ? settle(sim, t) : undefined;
}

/** A trade the payer has opened (an unopened QR is unknown to Alipay's queries). */
export function existingTrade(sim: AlipaySimulator, biz: Record<string, unknown>): Trade {
  const t = findTrade(sim, biz);
  if (!t || t.status === 'NOT_OPENED') throw BUSINESS('ACQ.TRADE_NOT_EXIST', '交易不存在');
  return t;
}

export function timeoutOf(sim: AlipaySimulator, biz: Record<string, unknown>): number {
  const te = typeof biz.timeout_express === 'string' ? /^(\d+)([mhdc])$/.exec(biz.timeout_express) : null;
  if (!te) return 120 * 60_000;
  const n = Number(te[1]);
  return n * ({ m: 60_000, h: 3_600_000, d: 86_400_000, c: 86_400_000 } as Record<string, number>)[te[2]];
}

export function newTrade(sim: AlipaySimulator, ctx: Ctx, status: TradeStatus): Trade {
  const { biz } = ctx;
  const outTradeNo = need(biz, 'out_trade_no');
  const totalMinor = yuanOf(biz.total_amount, 'total_amount');
  const subject = need(biz, 'subject', 256);
  const found = sim.trades.get(outTradeNo);
  const existing = found && !settle(sim, found).expired ? found : undefined;
  if (existing) {
    if (existing.status === 'TRADE_SUCCESS' || existing.status === 'TRADE_FINISHED') throw BUSINESS('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    if (existing.status === 'TRADE_CLOSED') throw BUSINESS('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    if (existing.totalMinor !== totalMinor || existing.subject !== subject) throw BUSINESS('ACQ.CONTEXT_INCONSISTENT', '交易信息被篡改');
    if (status === 'WAIT_BUYER_PAY' && existing.status === 'NOT_OPENED') openTrade(sim, existing);
    return existing;
  }
  const now = sim.now();
  const t: Trade = {
    outTradeNo,
    tradeNo: `${utcToBeijing(now).slice(0, 10).replaceAll('-', '')}22001${randomDigits(15)}`,
    totalMinor,
    subject,
    status: 'NOT_OPENED',
    notifyUrl: ctx.p.notify_url || sim.deps.webhookUrl?.(),
    charset: ctx.charset,
    signType: ctx.signType,
    createdMs: now,
    timeoutMs: timeoutOf(sim, biz),
    feeMinor: feeInBasisPoints(totalMinor, sim.feeBps),
    buyerId: '',
    buyerLogonId: '',
    qrToken: randomBytes(12).toString('hex'),
    refunds: new Map(),
    refundedMinor: 0,
  };
  sim.trades.set(outTradeNo, t);
  sim.byQrToken.set(t.qrToken, t);
  if (status === 'WAIT_BUYER_PAY') openTrade(sim, t);
  sim.payer.expect(outTradeNo, now);
  return t;
}

/** The payer opens the trade (scans the QR or loads the cashier page). */
export function openTrade(sim: AlipaySimulator, t: Trade): void {
  if (t.status !== 'NOT_OPENED') return;
  t.status = 'WAIT_BUYER_PAY';
  t.buyerId = `2088${randomDigits(12)}`;
  t.buyerLogonId = `sb***@sandbox.example`;
}

export function precreate(sim: AlipaySimulator, ctx: Ctx): Record<string, unknown> {
  const t = newTrade(sim, ctx, 'NOT_OPENED');
  return { out_trade_no: t.outTradeNo, qr_code: `${ctx.base}/qr/${t.qrToken}` };
}

export function pagePay(sim: AlipaySimulator, ctx: Ctx): SimulatorResponse {
  const t = newTrade(sim, ctx, 'WAIT_BUYER_PAY');
  return htmlPage('支付宝 - 网上支付 收银台 (sandbox)', `订单 ${t.outTradeNo}: ${formatAmount(t.totalMinor, 'CNY')} 元, ${t.subject}. POST /__sandbox/pay {"orderNo":"${t.outTradeNo}"} to pay.`);
}

export function openQr(sim: AlipaySimulator, token: string): SimulatorResponse {
  const t = sim.byQrToken.get(token);
  if (!t || settle(sim, t).expired) return { status: 404, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: '二维码已失效' };
  openTrade(sim, t);
  return htmlPage('支付宝 - 扫码支付 (sandbox)', `订单 ${t.outTradeNo}: ${formatAmount(t.totalMinor, 'CNY')} 元, 状态 ${t.status}.`);
}

export function queryTrade(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const t = existingTrade(sim, biz);
  const out: Record<string, unknown> = {
    trade_no: t.tradeNo,
    out_trade_no: t.outTradeNo,
    buyer_logon_id: t.buyerLogonId,
    trade_status: t.status,
    total_amount: formatAmount(t.totalMinor, 'CNY'),
    buyer_pay_amount: t.paidMs ? formatAmount(t.totalMinor, 'CNY') : '0.00',
    point_amount: '0.00',
    invoice_amount: t.paidMs ? formatAmount(t.totalMinor, 'CNY') : '0.00',
    receipt_amount: t.paidMs ? formatAmount(t.totalMinor, 'CNY') : '0.00',
    buyer_user_id: t.buyerId,
  };
  if (t.paidMs) {
    out.send_pay_date = utcToBeijing(t.paidMs);
    out.fund_bill_list = [{ fund_channel: 'ALIPAYACCOUNT', amount: formatAmount(t.totalMinor, 'CNY') }];
  }
  return out;
}

export function closeTrade(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const t = existingTrade(sim, biz);
  if (t.status !== 'WAIT_BUYER_PAY') throw BUSINESS('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  t.status = 'TRADE_CLOSED';
  t.closedMs = sim.now();
  return { trade_no: t.tradeNo, out_trade_no: t.outTradeNo };
}

/**
 * alipay.trade.cancel: for a trade whose create got no answer. An unpaid trade (opened or not)
 * is closed (its QR stops working), a paid one is refunded in full; `action` says which.
 */
export function cancelTrade(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const t = findTrade(sim, biz);
  if (!t || t.expired) throw BUSINESS('ACQ.TRADE_NOT_EXIST', '交易不存在');
  const base = { trade_no: t.tradeNo, out_trade_no: t.outTradeNo, retry_flag: 'N' };
  if (t.status === 'NOT_OPENED' || t.status === 'WAIT_BUYER_PAY') {
    t.status = 'TRADE_CLOSED';
    t.closedMs = sim.now();
    return { ...base, action: 'close' };
  }
  if (t.status === 'TRADE_CLOSED') return { ...base, action: t.paidMs ? 'refund' : 'close' };
  if (t.status !== 'TRADE_SUCCESS' || t.refundedMinor > 0) throw BUSINESS('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  const now = sim.now();
  t.refunds.set(t.outTradeNo, { outRequestNo: t.outTradeNo, amountMinor: t.totalMinor, feeMinor: t.feeMinor, ms: now, reason: 'cancel' });
  t.refundedMinor = t.totalMinor;
  sim.book(-(t.totalMinor - t.feeMinor));
  t.status = 'TRADE_CLOSED';
  t.closedMs = now;
  return { ...base, action: 'refund', gmt_refund_pay: utcToBeijing(now) };
}
