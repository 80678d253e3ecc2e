/**
 * UnionPay answer codes (`respCode`, `origRespCode`) onto pay's standard codes, transaction types,
 * and currency numbers. One table, so the client, the callback verifier and the simulator agree.
 */
import { PayError, type ErrorCode } from '../../src/core/errors.js';

/** What a respCode means for the request it answers. */
export type RespClass =
  /** Done (00, and A6 "success with defects"). */
  | 'success'
  /** Outcome not known yet (03 timeout, 04 status unknown, 05 accepted): query later. */
  | 'pending'
  /** A definitive "no" for this payment (declined by risk control, issuer, or the payer's card). */
  | 'declined'
  /** The request was refused; see {@link errorCodeFor}. */
  | 'error';

const ERROR_BY_CODE: Record<string, ErrorCode> = {
  '02': 'SYSTEM_ERROR',
  '06': 'SYSTEM_ERROR',
  '10': 'INVALID_REQUEST',
  '11': 'AUTHENTICATION_FAILED',
  '12': 'INVALID_REQUEST',
  '13': 'INVALID_REQUEST',
  '14': 'INVALID_REQUEST',
  '31': 'AUTHENTICATION_FAILED',
  '32': 'AUTHENTICATION_FAILED',
  '33': 'INVALID_REQUEST',
  '34': 'ORDER_NOT_FOUND',
  '35': 'INVALID_REQUEST',
  '36': 'INVALID_REQUEST',
  '37': 'RATE_LIMITED',
  '39': 'CHANNEL_ERROR',
  '40': 'INVALID_REQUEST',
  '41': 'CHANNEL_ERROR',
  '43': 'AUTHENTICATION_FAILED',
  '44': 'INVALID_REQUEST',
  '98': 'ORDER_NOT_FOUND',
  '99': 'CHANNEL_ERROR',
};

/** Classifies a respCode. */
export function classify(code: string | undefined): RespClass {
  if (code === '00' || code === 'A6') return 'success';
  if (code === '03' || code === '04' || code === '05') return 'pending';
  // 01 failed, 30 not approved, 38 risk, 42 paid after the deadline (returned), 6x/7x card and issuer.
  if (code === '01' || code === '30' || code === '38' || code === '42' || /^[67]\d$/.test(code ?? '')) return 'declined';
  return 'error';
}

/** The standard code for a respCode that refuses a request. */
export function errorCodeFor(code: string): ErrorCode {
  if (ERROR_BY_CODE[code]) return ERROR_BY_CODE[code];
  if (classify(code) === 'declined') return 'INVALID_REQUEST';
  if (/^4\d$/.test(code)) return 'INVALID_REQUEST';
  return 'CHANNEL_ERROR';
}

const HINTS: Partial<Record<ErrorCode, string>> = {
  AUTHENTICATION_FAILED: 'Check channels.unionpay.merId, the sign certificate (signCert/certId) and that UnionPay has it on file for this merchant.',
  RATE_LIMITED: 'UnionPay limits queries per order; wait a little before asking again.',
  SYSTEM_ERROR: 'UnionPay is busy or not ready; try again shortly (the same order number is safe to reuse).',
};

/** A PayError for a refusing respCode, keeping the raw code and message. */
export function respError(code: string, message: string | undefined, operation: string, extra: { hint?: string; httpStatus?: number } = {}): PayError {
  const std = errorCodeFor(code);
  const msg = message ? `${message}` : 'no message';
  return new PayError(std, `UnionPay refused ${operation}: respCode ${code} (${msg})`, {
    channel: 'unionpay',
    providerCode: code,
    providerMessage: message,
    hint: extra.hint ?? HINTS[std],
    httpStatus: extra.httpStatus,
  });
}

/** Names of the transaction types pay meets. */
export const TXN_TYPE: Record<string, string> = {
  '00': 'query',
  '01': 'consume',
  '04': 'refund',
  '31': 'void',
  '76': 'fileTransfer',
};

/** ISO 4217 numeric codes UnionPay uses in `currencyCode`, for the currencies its gateway settles. */
const CURRENCY_BY_NUMBER: Record<string, string> = {
  '156': 'CNY',
  '344': 'HKD',
  '446': 'MOP',
  '840': 'USD',
  '978': 'EUR',
  '826': 'GBP',
  '392': 'JPY',
  '702': 'SGD',
};

/** Alphabetic currency for a `currencyCode`, if known. */
export function currencyFromNumber(n: string | undefined): string | undefined {
  return n ? CURRENCY_BY_NUMBER[n] : undefined;
}

/** `currencyCode` for an alphabetic currency, if UnionPay's gateway takes it. */
export function currencyNumber(alpha: string): string | undefined {
  return Object.entries(CURRENCY_BY_NUMBER).find(([, a]) => a === alpha)?.[0];
}
