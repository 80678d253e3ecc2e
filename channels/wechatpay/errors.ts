/** WeChat Pay error bodies `{code, message}` and signature failures, mapped onto the standard codes. */
import { PayError, type ErrorCode } from '../../src/core/errors.js';
import type { V3Check } from './signature.js';
import type { WireError } from './wire.js';

// ---------------------------------------------------------------------------------------------
// Errors

const CODE_MAP: Record<string, ErrorCode> = {
  ORDER_NOT_EXIST: 'ORDER_NOT_FOUND',
  RESOURCE_NOT_EXISTS: 'ORDER_NOT_FOUND',
  NOT_FOUND: 'ORDER_NOT_FOUND',
  SIGN_ERROR: 'AUTHENTICATION_FAILED',
  NO_AUTH: 'AUTHENTICATION_FAILED',
  APPID_MCHID_NOT_MATCH: 'AUTHENTICATION_FAILED',
  MCH_NOT_EXISTS: 'AUTHENTICATION_FAILED',
  ACCOUNT_ERROR: 'AUTHENTICATION_FAILED',
  FREQUENCY_LIMITED: 'RATE_LIMITED',
  FREQUENCY_LIMIT_EXCEED: 'RATE_LIMITED',
  SYSTEM_ERROR: 'SYSTEM_ERROR',
  BANK_ERROR: 'SYSTEM_ERROR',
  STATEMENT_CREATING: 'SYSTEM_ERROR',
  NOT_ENOUGH: 'INSUFFICIENT_BALANCE',
  PARAM_ERROR: 'INVALID_REQUEST',
  INVALID_REQUEST: 'INVALID_REQUEST',
  OUT_TRADE_NO_USED: 'INVALID_REQUEST',
  ORDER_CLOSED: 'INVALID_REQUEST',
  INVALID_TRANSACTIONID: 'INVALID_REQUEST',
  NO_STATEMENT_EXIST: 'INVALID_REQUEST',
  // A business refusal that is neither "your request is wrong" nor final for the order.
  TRADE_ERROR: 'CHANNEL_ERROR',
  RULE_LIMIT: 'CHANNEL_ERROR',
  USER_ACCOUNT_ABNORMAL: 'CHANNEL_ERROR',
  ORDERPAID: 'CHANNEL_ERROR',
};

const HINTS: Partial<Record<string, string>> = {
  SIGN_ERROR: 'Check channels.wechatpay.privateKey, serialNo and mchId: they must belong to the same merchant API certificate.',
  APPID_MCHID_NOT_MATCH: 'channels.wechatpay.appId is not bound to mchId; bind it in the merchant platform or fix the config.',
  NO_AUTH: 'The merchant has not been granted this product or API; apply for it in the merchant platform.',
  FREQUENCY_LIMITED: 'Slow down and retry; the same order number is safe to reuse.',
  NOT_ENOUGH: 'Top up the fund account (check it with `pay balance --channel wechatpay`).',
  NO_STATEMENT_EXIST: 'There is no bill for that day (no transactions), or it is not generated yet: bills are ready after 10:00 the next day (UTC+8).',
  STATEMENT_CREATING: 'The bill is being generated; try again later.',
  ORDER_NOT_EXIST: 'WeChat Pay has no such order: the create never reached it, so it is safe to create again with the same number.',
};

/** Maps a non-2xx answer to a PayError (CHANNEL_ERROR with an excerpt when the body is not WeChat's JSON). */
export function errorFromResponse(status: number, body: Buffer, operation: string, requestId?: string): PayError {
  let parsed: WireError | undefined;
  try {
    const j = JSON.parse(body.toString('utf8')) as unknown;
    if (j && typeof j === 'object' && typeof (j as WireError).code === 'string') parsed = j as WireError;
  } catch {
    /* not JSON: handled below */
  }
  if (!parsed) {
    const code: ErrorCode = status >= 500 ? 'SYSTEM_ERROR' : status === 429 ? 'RATE_LIMITED' : 'CHANNEL_ERROR';
    return new PayError(code, `WeChat Pay answered ${operation} with HTTP ${status} and a body that is not its error JSON: ${excerpt(body)}`, {
      channel: 'wechatpay',
      httpStatus: status,
      requestId,
    });
  }
  let code = CODE_MAP[parsed.code];
  if (!code) {
    if (status === 401) code = 'AUTHENTICATION_FAILED';
    else if (status === 404) code = 'ORDER_NOT_FOUND';
    else if (status === 429) code = 'RATE_LIMITED';
    else if (status >= 500) code = 'SYSTEM_ERROR';
    else if (status === 400) code = 'INVALID_REQUEST';
    else code = 'CHANNEL_ERROR';
  }
  const message = parsed.message ?? parsed.code;
  return new PayError(code, `WeChat Pay refused ${operation}: ${message} (${parsed.code})`, {
    channel: 'wechatpay',
    providerCode: parsed.code,
    providerMessage: parsed.message,
    httpStatus: status,
    requestId,
    hint: HINTS[parsed.code],
  });
}

/** The first 200 characters of a body, as text on one line, for error messages. */
export function excerpt(body: Buffer | string): string {
  const text = (typeof body === 'string' ? body : body.subarray(0, 400).toString('utf8')).replace(/[\u0000-\u001f\s]+/g, ' ').trim();
  if (text === '') return '(empty)';
  return `«${text.length > 200 ? `${text.slice(0, 200)}…` : text}»`;
}

export function signatureError(check: Extract<V3Check, { ok: false }>, operation: string): PayError {
  return new PayError('SIGNATURE_INVALID', `WeChat Pay's answer to ${operation} failed its signature check: ${check.message}`, {
    channel: 'wechatpay',
    details: { reason: check.reason, serial: check.serial },
    hint: 'The answer was not trusted. Its outcome is unknown: run `pay query` later; if this persists, check the platform key settings (platformPublicKey / platformSerial) or the clock.',
  });
}

