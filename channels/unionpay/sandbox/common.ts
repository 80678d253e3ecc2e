/**
 * What every part of the UnionPay simulator shares: its order and refund records, the refusal
 * (respCode, respMsg) every check throws, and the constants of its answers.
 */

export interface SimOrder {
  orderId: string;
  txnTime: string;
  amount: number;
  channelType: string;
  backUrl: string;
  createdMs: number;
  tn?: string;
  status: 'unpaid' | 'paid' | 'failed';
  queryId?: string;
  paidMs?: number;
  traceNo?: string;
  refunded: number;
}

export interface SimRefund {
  orderId: string;
  txnTime: string;
  txnType: '04' | '31';
  amount: number;
  origQryId: string;
  origOrderId: string;
  backUrl: string;
  reqReserved?: string;
  queryId: string;
  traceNo: string;
  createdMs: number;
  settleMs: number;
  fee: number;
  notified: boolean;
}

export const OK_MSG = '成功[0000000]';
/** A stand-in merchant endpoint that acknowledges notifications (not a UnionPay path). */
export const NOTIFY_SINK = '/sandbox/notify-sink';
export const SIGN_FAILED = '验证签名失败';

export class Refusal extends Error {
  constructor(
    readonly respCode: string,
    readonly respMsg: string,
  ) {
    super(`${respCode} ${respMsg}`);
  }
}
