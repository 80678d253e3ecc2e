/**
 * Transactions: consume (front: the cashier page; app: a tn), back transactions (refund 04,
 * cancel 31) that settle after `refundSettleMs`, and the query; the fields' checks.
 */
import type { SimulatorResponse } from '../../../src/sandbox/contract.js';
import { feeInBasisPoints, htmlPage, randomDigits } from '../../../src/sandbox/helpers.js';
import { beijingDate, fromTxnTime, toMonthDayTime } from '../wire-time.js';
import { Refusal, OK_MSG, type SimOrder, type SimRefund } from './common.js';
import type { UnionPaySimulator } from './index.js';
import { notifyRefund } from './notify.js';

export function need(f: Record<string, string>, ...keys: string[]): void {
  for (const k of keys) if (!f[k]) throw new Refusal('13', `报文交易要素缺失 [${k}]`);
}

export function amountOf(s: string): number {
  if (!/^[1-9]\d{0,11}$/.test(s)) throw new Refusal('10', `报文格式错误 [txnAmt ${s}]`);
  return Number(s);
}

/** The payer's browser posted the front-consume form: show the (sandbox) cashier. */
export function front(sim: UnionPaySimulator, f: Record<string, string>): SimulatorResponse {
  const fields = consume(sim, f, '07');
  return htmlPage('银联在线支付 (pay sandbox cashier)', `Order ${fields.orderId}, ${(Number(f.txnAmt) / 100).toFixed(2)} CNY. The sandbox payer pays with POST /__sandbox/pay {"orderNo":"${fields.orderId}"}.`);
}

export function consume(sim: UnionPaySimulator, f: Record<string, string>, channelType: string): Record<string, string> {
  need(f, 'orderId', 'txnTime', 'txnAmt', 'currencyCode', 'backUrl', 'txnSubType', 'bizType', 'channelType');
  if (f.txnType !== '01') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on a consume path]`);
  // Consume sub-types: 01 self-service, 02 subscription, 03 instalments.
  if (!['01', '02', '03'].includes(f.txnSubType)) throw new Refusal('10', `报文格式错误 [txnSubType ${f.txnSubType}]`);
  if (f.channelType !== channelType) throw new Refusal('10', `报文格式错误 [channelType ${f.channelType}]`);
  if (f.currencyCode !== '156') throw new Refusal('10', `报文格式错误 [currencyCode ${f.currencyCode}]`);
  if (!/^[0-9A-Za-z]{8,40}$/.test(f.orderId)) throw new Refusal('10', `报文格式错误 [orderId]`);
  const sentMs = fromTxnTime(f.txnTime);
  if (sentMs === undefined) throw new Refusal('10', `报文格式错误 [txnTime]`);
  const amount = amountOf(f.txnAmt);
  if (sim.orders.has(f.orderId) || sim.refunds.has(f.orderId)) throw new Refusal('12', '重复交易');
  const order: SimOrder = { orderId: f.orderId, txnTime: f.txnTime, amount, channelType, backUrl: f.backUrl, createdMs: sim.now(), status: 'unpaid', refunded: 0 };
  if (channelType === '08') order.tn = randomDigits(21);
  sim.orders.set(order.orderId, order);
  const out: Record<string, string> = { version: f.version, encoding: 'UTF-8', bizType: f.bizType, txnType: '01', txnSubType: f.txnSubType, accessType: '0', merId: sim.merId, orderId: f.orderId, txnTime: f.txnTime, respCode: '00', respMsg: OK_MSG };
  if (order.tn) out.tn = order.tn;
  return out;
}

export function fee(sim: UnionPaySimulator, amount: number): number {
  return feeInBasisPoints(amount, sim.feeBps);
}

export function back(sim: UnionPaySimulator, f: Record<string, string>): Record<string, string> {
  need(f, 'orderId', 'txnTime', 'txnAmt', 'origQryId', 'backUrl', 'txnSubType', 'bizType');
  if (f.txnType !== '04' && f.txnType !== '31') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on backTransReq]`);
  if (!/^[0-9A-Za-z]{8,40}$/.test(f.orderId) || fromTxnTime(f.txnTime) === undefined) throw new Refusal('10', '报文格式错误 [orderId/txnTime]');
  const amount = amountOf(f.txnAmt);
  if (sim.orders.has(f.orderId) || sim.refunds.has(f.orderId)) throw new Refusal('12', '重复交易');
  const orig = sim.byQueryId.get(f.origQryId);
  if (!orig || !('status' in orig) || orig.status !== 'paid') throw new Refusal('35', '原交易不存在或状态不正确');
  const now = sim.now();
  if (f.txnType === '31') {
    if (amount !== orig.amount) throw new Refusal('36', '与原交易信息不符 (a void undoes the whole amount)');
    if (orig.refunded > 0 || beijingDate(orig.paidMs!) !== beijingDate(now)) throw new Refusal('35', '原交易状态不正确 (a void is only for an untouched payment of the same day)');
  }
  if (amount > orig.amount - orig.refunded) throw new Refusal('33', '交易金额超限 (退货金额超过原交易可退金额)');
  orig.refunded += amount;
  const refund: SimRefund = {
    orderId: f.orderId,
    txnTime: f.txnTime,
    txnType: f.txnType as '04' | '31',
    amount,
    origQryId: f.origQryId,
    origOrderId: orig.orderId,
    backUrl: f.backUrl,
    reqReserved: f.reqReserved,
    queryId: randomDigits(21),
    traceNo: randomDigits(6),
    createdMs: now,
    settleMs: now + sim.refundSettleMs,
    // A void returns the whole fee; a refund keeps it.
    fee: f.txnType === '31' ? -fee(sim, orig.amount) : 0,
    notified: false,
  };
  sim.refunds.set(refund.orderId, refund);
  sim.byQueryId.set(refund.queryId, refund);
  sim.timers.later(sim.refundSettleMs, () => notifyRefund(sim, refund));
  const out: Record<string, string> = { version: f.version, encoding: 'UTF-8', bizType: f.bizType, txnType: f.txnType, txnSubType: f.txnSubType, accessType: '0', merId: sim.merId, orderId: f.orderId, txnTime: f.txnTime, txnAmt: f.txnAmt, origQryId: f.origQryId, queryId: refund.queryId, respCode: '00', respMsg: OK_MSG };
  if (f.reqReserved) out.reqReserved = f.reqReserved;
  return out;
}

export function query(sim: UnionPaySimulator, f: Record<string, string>): Record<string, string> {
  if (f.txnType !== '00') throw new Refusal('10', `报文格式错误 [txnType ${f.txnType} on queryTrans]`);
  let found: SimOrder | SimRefund | undefined;
  if (f.txnSubType === '02') {
    need(f, 'queryId');
    found = sim.byQueryId.get(f.queryId);
  } else {
    need(f, 'orderId', 'txnTime');
    const t = sim.orders.get(f.orderId) ?? sim.refunds.get(f.orderId);
    // merId + orderId + txnTime identify a transaction: a different txnTime is another (unknown) one.
    if (t && t.txnTime === f.txnTime) found = t;
  }
  const base: Record<string, string> = { version: f.version, encoding: 'UTF-8', bizType: f.bizType ?? '000000', txnType: '00', txnSubType: f.txnSubType ?? '00', accessType: '0', merId: sim.merId };
  if (f.orderId) base.orderId = f.orderId;
  if (f.txnTime) base.txnTime = f.txnTime;
  // An order the payer has not paid is not a transaction yet.
  if (!found || ('status' in found && found.status === 'unpaid')) return { ...base, respCode: '34', respMsg: '查无此交易' };
  const out: Record<string, string> = { ...base, respCode: '00', respMsg: OK_MSG, orderId: found.orderId, txnTime: found.txnTime, txnAmt: String(found.amount), currencyCode: '156', queryId: found.queryId! };
  if ('status' in found) {
    out.txnType = '01';
    out.txnSubType = '01';
    out.bizType = '000201';
    if (found.status === 'paid') {
      Object.assign(out, { origRespCode: '00', origRespMsg: OK_MSG, traceNo: found.traceNo!, traceTime: toMonthDayTime(found.paidMs!), settleAmt: String(found.amount), settleCurrencyCode: '156', settleDate: toMonthDayTime(found.paidMs!).slice(0, 4) });
    } else {
      Object.assign(out, { origRespCode: '01', origRespMsg: '交易失败' });
    }
  } else {
    out.txnType = found.txnType;
    out.txnSubType = '00';
    out.bizType = '000201';
    out.origQryId = found.origQryId;
    if (found.reqReserved) out.reqReserved = found.reqReserved;
    if (sim.now() >= found.settleMs) {
      Object.assign(out, { origRespCode: '00', origRespMsg: OK_MSG, traceNo: found.traceNo, traceTime: toMonthDayTime(found.settleMs), settleAmt: String(found.amount), settleCurrencyCode: '156', settleDate: toMonthDayTime(found.settleMs).slice(0, 4) });
    } else {
      Object.assign(out, { origRespCode: '05', origRespMsg: '交易已受理，请稍后查询交易结果' });
    }
  }
  return out;
}
