/** Refunds of paid trades (partial, out_request_no idempotent, bounded by what is left) and their query. */
import { feeInBasisPoints } from '../../../src/sandbox/helpers.js';
import { formatAmount } from '../../../src/core/money.js';
import { utcToBeijing } from '../beijing-time.js';
import { BUSINESS, need, yuanOf, type AlipayHandler } from './common.js';
import type { AlipaySimulator } from './index.js';
import { notifyTrade } from './notify.js';
import { existingTrade } from './trades.js';

/** The refund methods of the gateway. */
export const refundMethods: Record<string, AlipayHandler> = {
  'alipay.trade.refund': (sim, ctx) => refund(sim, ctx.biz),
  'alipay.trade.fastpay.refund.query': (sim, ctx) => refundQuery(sim, ctx.biz),
};

export function refund(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const t = existingTrade(sim, biz);
  const amount = yuanOf(biz.refund_amount, 'refund_amount');
  const outRequestNo = typeof biz.out_request_no === 'string' && biz.out_request_no !== '' ? biz.out_request_no : t.outTradeNo;
  const base = { trade_no: t.tradeNo, out_trade_no: t.outTradeNo, buyer_logon_id: t.buyerLogonId, buyer_user_id: t.buyerId };
  const seen = t.refunds.get(outRequestNo);
  if (seen) {
    // The same request again: its original result, with no funds moved this time.
    if (seen.amountMinor !== amount) throw BUSINESS('ACQ.DISCORDANT_REPEAT_REQUEST', '请求信息不一致');
    return { ...base, fund_change: 'N', refund_fee: formatAmount(t.refundedMinor, 'CNY'), gmt_refund_pay: utcToBeijing(seen.ms) };
  }
  if (!t.paidMs || (t.status !== 'TRADE_SUCCESS' && !(t.status === 'TRADE_CLOSED' && t.refundedMinor > 0))) throw BUSINESS('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
  if (t.refundedMinor + amount > t.totalMinor) throw BUSINESS('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
  if (sim.balanceMinor < amount) throw BUSINESS('ACQ.SELLER_BALANCE_NOT_ENOUGH', '卖家余额不足');
  const now = sim.now();
  // Alipay gives back the service fee in proportion to what is refunded.
  const fee = t.refundedMinor + amount === t.totalMinor ? t.feeMinor - [...t.refunds.values()].reduce((s, r) => s + r.feeMinor, 0) : feeInBasisPoints(amount, sim.feeBps);
  t.refunds.set(outRequestNo, { outRequestNo, amountMinor: amount, feeMinor: fee, ms: now, reason: typeof biz.refund_reason === 'string' ? biz.refund_reason : undefined });
  t.refundedMinor += amount;
  sim.book(-(amount - fee));
  if (t.refundedMinor === t.totalMinor) {
    t.status = 'TRADE_CLOSED';
    t.closedMs = now;
  }
  void notifyTrade(sim, t, { out_biz_no: outRequestNo, refund_fee: formatAmount(t.refundedMinor, 'CNY'), gmt_refund: `${utcToBeijing(now)}.000` });
  return { ...base, fund_change: 'Y', refund_fee: formatAmount(t.refundedMinor, 'CNY'), gmt_refund_pay: utcToBeijing(now) };
}

export function refundQuery(sim: AlipaySimulator, biz: Record<string, unknown>): Record<string, unknown> {
  const t = existingTrade(sim, biz);
  const outRequestNo = need(biz, 'out_request_no');
  const r = t.refunds.get(outRequestNo);
  const base = { trade_no: t.tradeNo, out_trade_no: t.outTradeNo, out_request_no: outRequestNo };
  if (!r) return base;
  const out: Record<string, unknown> = { ...base, total_amount: formatAmount(t.totalMinor, 'CNY'), refund_amount: formatAmount(r.amountMinor, 'CNY'), refund_status: 'REFUND_SUCCESS' };
  if (Array.isArray(biz.query_options) && biz.query_options.includes('gmt_refund_pay')) out.gmt_refund_pay = utcToBeijing(r.ms);
  if (r.reason) out.refund_reason = r.reason;
  return out;
}
