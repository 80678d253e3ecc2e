/**
 * WeChat Pay API v3 wire shapes (only the fields pay reads or writes), the provider's status words
 * mapped onto pay's, and amounts and times converted at the edge.
 */
import { PayError } from '../../src/core/errors.js';
import { currencyExponent, convertMinor } from '../../src/core/money.js';
import type { OrderStatus, RefundStatus } from '../../src/core/order.js';
import { isoUtc } from '../../src/core/time.js';
import type { EncryptedResource } from './signature.js';

// ---------------------------------------------------------------------------------------------
// Wire shapes (only the fields pay reads or writes)

/** `amount` of a transaction. */
export interface WireAmount {
  total: number;
  payer_total?: number;
  currency?: string;
  payer_currency?: string;
}

/** A transaction (query answer and TRANSACTION.* resource). */
export interface WireTransaction {
  appid?: string;
  mchid?: string;
  out_trade_no: string;
  transaction_id?: string;
  trade_type?: string;
  trade_state: string;
  trade_state_desc?: string;
  bank_type?: string;
  attach?: string;
  success_time?: string;
  payer?: { openid?: string };
  amount?: WireAmount;
}

/** A refund (create/query answer and REFUND.* resource; the resource spells the status `refund_status`). */
export interface WireRefund {
  refund_id: string;
  out_refund_no: string;
  transaction_id?: string;
  out_trade_no?: string;
  channel?: string;
  user_received_account?: string;
  success_time?: string;
  create_time?: string;
  status?: string;
  refund_status?: string;
  funds_account?: string;
  amount: { total: number; refund: number; payer_total?: number; payer_refund?: number; settlement_refund?: number; settlement_total?: number; discount_refund?: number; currency?: string; refund_fee?: number };
}

/** A merchant transfer bill (商家转账) and the MCHTRANSFER.* resource. */
export interface WireTransferBill {
  mch_id?: string;
  out_bill_no: string;
  transfer_bill_no?: string;
  appid?: string;
  state: string;
  transfer_amount?: number;
  transfer_remark?: string;
  fail_reason?: string;
  openid?: string;
  user_name?: string;
  create_time?: string;
  update_time?: string;
  package_info?: string;
}

/** A v3 notification body. */
export interface WireNotification {
  id: string;
  create_time?: string;
  event_type: string;
  resource_type?: string;
  summary?: string;
  resource: EncryptedResource;
}

/** GET /v3/certificates. */
export interface WireCertificates {
  data: Array<{ serial_no: string; effective_time?: string; expire_time?: string; encrypt_certificate: EncryptedResource }>;
}

/** GET /v3/bill/tradebill and /v3/bill/fundflowbill. */
export interface WireBillApply {
  hash_type: string;
  hash_value: string;
  download_url: string;
}

/** An error body. */
export interface WireError {
  code: string;
  message?: string;
  detail?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Status words

/** trade_state -> pay's order status. REFUND means it was paid (refunds are tracked on their own). */
export function orderStatusOf(tradeState: string): Extract<OrderStatus, 'pending' | 'succeeded' | 'failed' | 'closed'> | undefined {
  switch (tradeState) {
    case 'NOTPAY':
    case 'USERPAYING':
    case 'ACCEPT':
      return 'pending';
    case 'SUCCESS':
    case 'REFUND':
      return 'succeeded';
    case 'CLOSED':
    case 'REVOKED':
      return 'closed';
    case 'PAYERROR':
      return 'failed';
    default:
      return undefined;
  }
}

/**
 * Refund status -> pay's. ABNORMAL (the payer's account cannot take the money back) needs the
 * merchant to act in the merchant platform; it stays pending so the amount stays reserved and a
 * second refund cannot double it.
 */
export function refundStatusOf(status: string): RefundStatus | undefined {
  switch (status) {
    case 'SUCCESS':
      return 'succeeded';
    case 'PROCESSING':
    case 'ABNORMAL':
      return 'pending';
    case 'CLOSED':
      return 'failed';
    default:
      return undefined;
  }
}

/** Transfer bill state -> pay's payout status. */
export function payoutStatusOf(state: string): Extract<OrderStatus, 'pending' | 'succeeded' | 'failed' | 'closed'> | undefined {
  switch (state) {
    case 'ACCEPTED':
    case 'PROCESSING':
    case 'WAIT_USER_CONFIRM':
    case 'TRANSFERING':
    case 'CANCELING':
      return 'pending';
    case 'SUCCESS':
      return 'succeeded';
    case 'FAIL':
      return 'failed';
    case 'CANCELLED':
      return 'closed';
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Units and times

/** WeChat Pay amounts are integers in the currency's minor unit (fen for CNY), as pay's are. */
export const WECHAT_EXPONENTS: Readonly<Record<string, number>> = {};

/** pay minor units -> wire units. WeChat Pay's domestic APIs take CNY only. */
export function toWire(amountMinor: number, currency: string): number {
  if (currency !== 'CNY') {
    throw new PayError('INVALID_REQUEST', `WeChat Pay takes CNY only, not ${currency}`, { channel: 'wechatpay', hint: 'Use --currency CNY.' });
  }
  return convertMinor(amountMinor, currencyExponent(currency), currencyExponent(currency, WECHAT_EXPONENTS));
}

/** Wire units -> pay minor units. */
export function fromWire(amount: number, currency = 'CNY'): number {
  if (!Number.isSafeInteger(amount)) throw new PayError('CHANNEL_ERROR', `WeChat Pay sent an amount that is not an integer (${String(amount).slice(0, 20)})`, { channel: 'wechatpay' });
  return convertMinor(amount, currencyExponent(currency, WECHAT_EXPONENTS), currencyExponent(currency));
}

/** RFC 3339 wire time (`2026-11-23T14:00:00+08:00`) -> ISO UTC; undefined when absent or unreadable. */
export function wireTimeToIso(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : isoUtc(ms);
}

/** ms -> RFC 3339 in UTC+8, as WeChat Pay writes times. */
export function toWireTime(ms: number): string {
  return `${new Date(ms + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
}

