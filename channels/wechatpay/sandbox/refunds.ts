/** Refunds: create (partial, out_refund_no idempotent, bounded by what is left) and query. */
import type { SimulatorRequest, SimulatorResponse } from '../../../src/sandbox/contract.js';
import { feeInBasisPoints, randomDigits } from '../../../src/sandbox/helpers.js';
import type { Router } from '../../../src/sandbox/router.js';
import { toWireTime } from '../client.js';
import { compactDate, wxError, type Refund, type WechatHandler } from './common.js';
import type { WechatpaySimulator } from './index.js';
import { schedule } from './progress.js';

/** The refund routes. */
export function refundRoutes(r: Router<WechatHandler>): void {
  r.post('/v3/refund/domestic/refunds', (sim, req) => createRefund(sim, req));
  r.get('/v3/refund/domestic/refunds/:no', (sim, _req, { no }) => queryRefund(sim, no));
}

export function refundResource(sim: WechatpaySimulator, r: Refund, notification: boolean): Record<string, unknown> {
  const o = sim.orders.get(r.outTradeNo)!;
  const out: Record<string, unknown> = {
    refund_id: r.refundId,
    out_refund_no: r.outRefundNo,
    transaction_id: r.transactionId,
    out_trade_no: r.outTradeNo,
    user_received_account: '支付用户零钱',
  };
  if (notification) {
    out.mchid = o.mchid;
    out.refund_status = r.status;
    out.amount = { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund };
  } else {
    Object.assign(out, {
      channel: 'ORIGINAL',
      create_time: toWireTime(r.createdMs),
      status: r.status,
      funds_account: 'AVAILABLE',
      amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund, settlement_refund: r.refund, settlement_total: r.total, discount_refund: 0, currency: 'CNY', refund_fee: r.feeBack },
    });
  }
  if (r.successMs !== undefined) out.success_time = toWireTime(r.successMs);
  return out;
}

export function createRefund(sim: WechatpaySimulator, req: SimulatorRequest): SimulatorResponse {
  const b = sim.body(req);
  const outRefundNo = b.out_refund_no;
  if (typeof outRefundNo !== 'string' || !/^[A-Za-z0-9_*@|-]{1,64}$/.test(outRefundNo)) throw wxError(400, 'PARAM_ERROR', 'out_refund_no格式错误');
  if (typeof b.out_trade_no !== 'string' && typeof b.transaction_id !== 'string') {
    throw wxError(400, 'PARAM_ERROR', 'transaction_id和out_trade_no必须二选一进行传参', { location: 'body' });
  }
  const o = typeof b.out_trade_no === 'string' ? sim.orders.get(b.out_trade_no) : typeof b.transaction_id === 'string' ? sim.ordersByTxn.get(b.transaction_id) : undefined;
  if (!o) throw wxError(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
  const amount = b.amount as { refund?: unknown; total?: unknown; currency?: unknown } | undefined;
  if (!amount || !Number.isSafeInteger(amount.refund) || (amount.refund as number) < 1 || !Number.isSafeInteger(amount.total)) throw wxError(400, 'PARAM_ERROR', 'amount.refund和amount.total必须为正整数');
  if (amount.currency !== 'CNY') throw wxError(400, 'PARAM_ERROR', 'amount.currency必须为CNY');
  const existing = sim.refunds.get(outRefundNo);
  if (existing) {
    if (existing.outTradeNo !== o.outTradeNo || existing.refund !== amount.refund) throw wxError(400, 'INVALID_REQUEST', '退款单号已存在，请使用新的商户退款单号');
    return sim.ok(refundResource(sim, existing, false));
  }
  if (o.state !== 'SUCCESS') throw wxError(403, 'TRADE_ERROR', '订单未支付，不能退款');
  if (amount.total !== o.total) throw wxError(400, 'INVALID_REQUEST', '订单金额与原订单金额不一致');
  const refunded = [...sim.refunds.values()].filter((r) => r.outTradeNo === o.outTradeNo).reduce((s, r) => s + r.refund, 0);
  if (refunded + (amount.refund as number) > o.total) throw wxError(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
  const now = sim.deps.clock();
  const r: Refund = {
    refundId: `5030${randomDigits(4)}${compactDate(now)}${randomDigits(13)}`,
    outRefundNo,
    outTradeNo: o.outTradeNo,
    transactionId: o.transactionId!,
    refund: amount.refund as number,
    total: o.total,
    reason: typeof b.reason === 'string' ? b.reason : undefined,
    notifyUrl: typeof b.notify_url === 'string' ? b.notify_url : undefined,
    createdMs: now,
    settleMs: now + sim.options.settleMs,
    status: 'PROCESSING',
    feeBack: feeInBasisPoints(amount.refund as number, sim.options.feeBps),
  };
  sim.refunds.set(outRefundNo, r);
  sim.ledger.post({ currency: 'CNY', net: -(r.refund - r.feeBack), atMs: now });
  schedule(sim, sim.options.settleMs);
  return sim.ok(refundResource(sim, r, false));
}

export function queryRefund(sim: WechatpaySimulator, outRefundNo: string): SimulatorResponse {
  const r = sim.refunds.get(outRefundNo);
  if (!r) throw wxError(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
  return sim.ok(refundResource(sim, r, false));
}
