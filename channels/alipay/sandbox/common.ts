/**
 * What every part of the Alipay simulator shares: the trade and transfer records, errors in
 * Alipay's `{code, msg, sub_code, sub_msg}` shape, Alipay's JSON writer, parameter readers, and
 * the context an OpenAPI method handler gets.
 */
import { parseAmount } from '../../../src/core/money.js';
import type { AlipaySignType } from '../signature.js';
import type { AlipaySimulator } from './index.js';

export type TradeStatus = 'NOT_OPENED' | 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED' | 'TRADE_FINISHED';

export interface Trade {
  outTradeNo: string;
  tradeNo: string;
  totalMinor: number;
  subject: string;
  status: TradeStatus;
  notifyUrl?: string;
  charset: string;
  signType: AlipaySignType;
  createdMs: number;
  timeoutMs: number;
  paidMs?: number;
  closedMs?: number;
  feeMinor: number;
  buyerId: string;
  buyerLogonId: string;
  qrToken: string;
  /** An unopened trade past its timeout: its QR no longer works. */
  expired?: boolean;
  refunds: Map<string, { outRequestNo: string; amountMinor: number; feeMinor: number; ms: number; reason?: string }>;
  refundedMinor: number;
}

export interface Transfer {
  outBizNo: string;
  orderId: string;
  payFundOrderId: string;
  amountMinor: number;
  identity: string;
  status: 'SUCCESS' | 'FAIL';
  ms: number;
}


/** An Alipay error answer. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    readonly msg: string,
    readonly subCode?: string,
    readonly subMsg?: string,
    /** Gateway-level errors come as an unsigned `error_response`. */
    readonly errorResponse = false,
  ) {
    super(subMsg ?? msg);
  }
}

export const MISSING = (sub: string, what: string) => new GatewayError('40001', 'Missing Required Arguments', sub, `缺少必选参数${what}`);
export const INVALID = (sub: string, what: string) => new GatewayError('40002', 'Invalid Arguments', sub, what);
export const BUSINESS = (sub: string, what: string) => new GatewayError('40004', 'Business Failed', sub, what);

/** Alipay's JSON writer escapes `/`: the signed text is not what JSON.stringify gives. */
export function alipayJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('/', '\\/');
}

export function yuanOf(text: unknown, field: string): number {
  if (typeof text !== 'string' || !/^\d+(\.\d{1,2})?$/.test(text)) throw INVALID('isv.invalid-parameter', `参数${field}不合法`);
  const minor = parseAmount(text, 'CNY', { allowZero: true });
  if (minor < 1 || minor > 10_000_000_000) throw INVALID('isv.invalid-parameter', `参数${field}超出范围`);
  return minor;
}

export function need(biz: Record<string, unknown>, key: string, max = 64): string {
  const v = biz[key];
  if (v === undefined || v === null || v === '') throw INVALID('isv.invalid-parameter', `缺少必选参数${key}`);
  if (typeof v !== 'string' || [...v].length > max) throw INVALID('isv.invalid-parameter', `参数${key}不合法`);
  return v;
}

/** What an OpenAPI method handler gets: the common parameters, biz_content, charset, sign type, base URL. */
export interface Ctx {
  p: Record<string, string>;
  biz: Record<string, unknown>;
  charset: string;
  signType: AlipaySignType;
  base: string;
}

/** An OpenAPI method handler: the fields of a successful answer, or a thrown {@link GatewayError}. */
export type AlipayHandler = (sim: AlipaySimulator, ctx: Ctx) => Record<string, unknown> | Promise<Record<string, unknown>>;
