/**
 * Things that move on their own: orders that pay themselves (`payAfterMs`), refunds and transfers
 * that settle, and the signed, encrypted notifications each success sends on WeChat Pay's retry
 * schedule; plus the payer's payment.
 */
import { randomBytes } from 'node:crypto';
import { feeInBasisPoints, randomDigits } from '../../../src/sandbox/helpers.js';
import { buildV3Notification } from '../callback.js';
import { compactDate, type Order } from './common.js';
import { NOTIFY_RETRY_DELAYS_MS, type WechatpaySimulator } from './index.js';
import { refundResource } from './refunds.js';
import { transaction } from './transactions.js';
import { transferResource } from './transfers.js';

/** Runs {@link advanceAll} `ms` from now (a refund or transfer settling). */
export function schedule(sim: WechatpaySimulator, ms: number): void {
  sim.timers.later(Math.max(0, ms) + 5, () => advanceAll(sim));
}

/** The payer's own payment (`payAfterMs`): an order still unpaid and unexpired is paid as of `at`. */
export function payOnTime(sim: WechatpaySimulator, orderNo: string, at: number): void {
  const o = sim.orders.get(orderNo);
  if (o && o.state === 'NOTPAY' && sim.deps.clock() < o.expireMs) pay(sim, o, 'succeeded', at);
}

/** Moves everything due by now and notifies what changed. */
export function advanceAll(sim: WechatpaySimulator): void {
  const now = sim.deps.clock();
  sim.payer.advance();
  for (const r of sim.refunds.values()) {
    if (r.status === 'PROCESSING' && now >= r.settleMs) {
      r.status = 'SUCCESS';
      r.successMs = r.settleMs;
      const o = sim.orders.get(r.outTradeNo);
      const url = r.notifyUrl ?? o?.notifyUrl;
      if (url) notify(sim, url, 'REFUND.SUCCESS', 'refund', '退款成功', refundResource(sim, r, true), `wechatpay REFUND.SUCCESS ${r.outRefundNo}`);
    }
  }
  for (const t of sim.transfers.values()) {
    if (t.state === 'WAIT_USER_CONFIRM' && now >= t.settleMs) {
      // The payee confirms receipt in WeChat; an account marked _fail cannot take the money.
      if (t.openid.endsWith('_fail')) {
        t.state = 'FAIL';
        t.failReason = 'PAYEE_ACCOUNT_ABNORMAL';
        // The money comes back to the account.
        sim.ledger.post({ currency: 'CNY', net: t.amount, atMs: t.settleMs });
      } else t.state = 'SUCCESS';
      t.updateMs = t.settleMs;
      if (t.notifyUrl) notify(sim, t.notifyUrl, 'MCHTRANSFER.BILL.FINISHED', 'mch_payment', '商家转账单据终态通知', transferResource(sim, t, true), `wechatpay MCHTRANSFER.BILL.FINISHED ${t.outBillNo}`);
    }
  }
}

export function notify(sim: WechatpaySimulator, url: string, eventType: string, originalType: string, summary: string, resource: object, description: string): void {
  const n = buildV3Notification({
    eventType,
    originalType,
    resource,
    summary,
    apiV3Key: sim.apiV3Key,
    privateKey: sim.platform.privateKey,
    serial: sim.signingSerial,
    nowMs: sim.deps.clock(),
  });
  sim.deps.notify({
    url,
    headers: n.headers,
    body: n.body,
    retryDelaysMs: NOTIFY_RETRY_DELAYS_MS,
    // WeChat Pay counts 200 and 204 as received; anything else is retried.
    accepted: (status) => status === 200 || status === 204,
    description,
  });
}

export function pay(sim: WechatpaySimulator, o: Order, outcome: 'succeeded' | 'failed', at: number): void {
  if (outcome === 'failed') {
    o.state = 'PAYERROR';
    return;
  }
  o.state = 'SUCCESS';
  o.paidMs = at;
  o.transactionId = `4200${randomDigits(4)}${compactDate(at)}${randomDigits(12)}`;
  o.openid ??= `oUpF8u${randomBytes(16).toString('base64url').slice(0, 22)}`;
  o.fee = feeInBasisPoints(o.total, sim.options.feeBps);
  sim.ordersByTxn.set(o.transactionId, o);
  sim.ledger.post({ currency: 'CNY', net: o.total - o.fee, atMs: at });
  notify(sim, o.notifyUrl, 'TRANSACTION.SUCCESS', 'transaction', '支付成功', transaction(sim, o), `wechatpay TRANSACTION.SUCCESS ${o.outTradeNo}`);
}
