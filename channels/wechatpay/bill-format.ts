/** What the WeChat Pay bill reader and writer share: the row detail, variants, fee decimals, exact totals. */
import type { BillRow } from '../../src/channel/contract.js';
import { invalid } from '../../src/core/errors.js';

/** The bills' wall-clock zone. */
export const TIME_ZONE = 'Asia/Shanghai';

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

/** An exact running total in minor units of a given exponent. */
export class Totals {
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

/** Extra fee decimals beyond the currency's exponent (5 for CNY: 3 more than fen). */
export const FEE_EXTRA_DECIMALS = 3;
