/** Back notifications (payments and refunds), signed as UnionPay signs them and retried on its schedule. */
import { encodeForm } from '../form.js';
import { toMonthDayTime } from '../wire-time.js';
import type { SimRefund } from './common.js';
import type { UnionPaySimulator } from './index.js';

export function notifyRefund(sim: UnionPaySimulator, r: SimRefund): void {
  if (r.notified) return;
  r.notified = true;
  const fields: Record<string, string> = {
    accessType: '0',
    bizType: '000201',
    currencyCode: '156',
    encoding: 'UTF-8',
    merId: sim.merId,
    orderId: r.orderId,
    origQryId: r.origQryId,
    queryId: r.queryId,
    respCode: '00',
    respMsg: 'success',
    settleAmt: String(r.amount),
    settleCurrencyCode: '156',
    settleDate: toMonthDayTime(r.settleMs).slice(0, 4),
    traceNo: r.traceNo,
    traceTime: toMonthDayTime(r.settleMs),
    txnAmt: String(r.amount),
    txnSubType: '00',
    txnTime: r.txnTime,
    txnType: r.txnType,
    version: '5.1.0',
  };
  if (r.reqReserved) fields.reqReserved = r.reqReserved;
  notify(sim, r.backUrl, fields, `unionpay ${r.txnType === '31' ? 'void' : 'refund'} ${r.orderId}`);
}

export function notify(sim: UnionPaySimulator, url: string, fields: Record<string, string>, description: string): void {
  sim.deps.notify({
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    body: encodeForm(sim.signed(fields), 'utf-8'),
    retryDelaysMs: sim.retryDelaysMs,
    // UnionPay counts HTTP 200 as received; any other status (or none) is resent.
    accepted: (status) => status === 200,
    description,
  });
}
