/**
 * Alipay callbacks, checked offline: the async notify (form POST, `trade_status_sync` and the
 * fund-transfer `alipay.fund.trans.order.changed`), the return URL a payer comes back with
 * (GET query string), and a saved synchronous gateway answer (`{"..._response":{...},"sign":...}`).
 *
 * Notify and return URL: form-decoded once, `sign` dropped, sorted, `k=v&...`, in the message's
 * charset (the `charset` field; GBK happens), verified without `sign_type` and then with it.
 * Certificate mode: `alipay_cert_sn`, when sent, must name the configured Alipay certificate.
 * Alipay expects the plain-text reply `success`; anything else makes it retry (25 h schedule).
 */
import type { KeyObject } from 'node:crypto';
import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { bodyDedupKey } from '../../src/channel/callback-kit.js';
import type { CallbackEvent, CallbackHandler, CallbackVerdict, HttpReply, RawRequest, VerdictReason, VerifyOptions } from '../../src/channel/contract.js';
import { hasAscii, hasFormField, skipLatin1Space } from '../../src/channel/detect.js';
import { configError } from '../../src/core/errors.js';
import { firstRepeat, type NamesMemo } from '../../src/core/field-names.js';
import { isKnownCurrency, parseAmount } from '../../src/core/money.js';
import type { OrderStatus, RefundStatus } from '../../src/core/order.js';
import { isoUtc } from '../../src/core/time.js';
import { beijingToUtc } from './beijing-time.js';
import { certSn } from './cert.js';
import {
  encodeForm,
  extractResponse,
  fieldsOf,
  isSignType,
  loadPublicKey,
  parseForm,
  signContent,
  signedBytes,
  verifyFields,
  verifyContent,
  type AlipaySignType,
  type Encoder,
  type FormField,
} from './signature.js';

/** What Alipay must read to stop retrying. */
export const SUCCESS_REPLY: HttpReply = { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'success' };
/** Anything but `success` makes Alipay retry; `fail` is what its samples print. */
export const FAILURE_REPLY: HttpReply = { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'fail' };
/** A saved synchronous answer or return URL expects no reply. */
const NO_REPLY: HttpReply = { status: 200, headers: {}, body: '' };

/** Maps `trade_status` onto pay's order states. */
export function tradeStatus(s: string | undefined): OrderStatus | undefined {
  switch (s) {
    case 'WAIT_BUYER_PAY':
      return 'pending';
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return 'succeeded';
    case 'TRADE_CLOSED':
      return 'closed';
    default:
      return undefined;
  }
}

/** Beijing wall time (`2019-08-15 15:56:24`) to ISO UTC; undefined when absent or unreadable. */
export function alipayTimeToIso(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const ms = beijingToUtc(text.trim());
  return Number.isNaN(ms) ? undefined : isoUtc(ms);
}

const decoders = { utf8: new TextDecoder('utf-8'), gb: undefined as TextDecoder | undefined };

/** A decoder for a message charset (UTF-8, GBK/GB2312/GB18030). Decoders are stateless here: shared. */
export function decoderFor(charset: string): TextDecoder {
  const c = charset.toLowerCase();
  // GB2312 and GBK messages decode correctly as GB18030, their superset.
  if (c === 'gbk' || c === 'gb2312' || c === 'gb18030') return (decoders.gb ??= new TextDecoder('gb18030'));
  return decoders.utf8;
}

/** An encoder for a charset; GBK loads iconv-lite on first use (kept off the start-up path). */
export async function encoderFor(charset: string): Promise<Encoder> {
  const c = charset.toLowerCase();
  if (c === 'utf-8' || c === 'utf8') return (t) => Buffer.from(t, 'utf8');
  const iconv = (await import('iconv-lite')).default;
  return (t) => iconv.encode(t, c === 'gb2312' ? 'gbk' : c);
}

function headerCharset(headers: Record<string, string>): string | undefined {
  return /charset=([\w-]+)/i.exec(headers['content-type'] ?? '')?.[1];
}

/** Options for {@link buildNotify}. */
export interface BuildNotifyOptions {
  /** Message charset (default utf-8); its encoder must be passed for anything else. */
  charset?: string;
  encode?: Encoder;
  signType?: AlipaySignType;
  /** Sign with `sign_type` in the signed string (fund notifies) instead of without (trade). */
  signTypeSigned?: boolean;
  /** Request target the notify is posted to. */
  target?: string;
}

/**
 * Signs notify fields and returns the raw request Alipay would POST (the signer the simulator
 * and tests use). `params` must not hold `sign`; `charset`, `sign_type` are filled in when absent.
 */
export function buildNotify(params: Record<string, string>, key: KeyObject, options: BuildNotifyOptions = {}): RawRequest {
  const charset = options.charset ?? params.charset ?? 'utf-8';
  const signType = options.signType ?? (isSignType(params.sign_type) ? params.sign_type : 'RSA2');
  const all: Record<string, string> = { ...params, charset: params.charset ?? charset, sign_type: params.sign_type ?? signType };
  const fields = fieldsOf(all, options.encode);
  const sign = signContent(signedBytes(fields, options.signTypeSigned ?? false), key, signType);
  fields.push({ key: 'sign', value: Buffer.from(sign, 'latin1') });
  return {
    method: 'POST',
    target: options.target ?? '/notify/alipay',
    headers: {
      'content-type': `application/x-www-form-urlencoded; charset=${charset}`,
      // Alipay's notifier identifies itself like this.
      'user-agent': 'Mozilla/4.0',
    },
    body: Buffer.from(encodeForm(fields), 'latin1'),
  };
}

/** Signs a return-URL query string the way Alipay does (without `sign_type`). */
export function buildReturnQuery(params: Record<string, string>, key: KeyObject, signType: AlipaySignType = 'RSA2'): string {
  const all = { ...params, sign_type: params.sign_type ?? signType };
  const fields = fieldsOf(all);
  const sign = signContent(signedBytes(fields, false), key, signType);
  fields.push({ key: 'sign', value: Buffer.from(sign, 'latin1') });
  return encodeForm(fields);
}

type Variant = 'notify' | 'return' | 'response';

/** Finds which kind of Alipay message a request holds, and its signed text. */
function classify(request: RawRequest): { variant: Variant; data: Buffer } | undefined {
  const body = request.body ?? Buffer.alloc(0);
  const start = body.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (start >= 0 && body[start] === 0x7b) return { variant: 'response', data: body };
  if (start >= 0) {
    // A bare query string saved as a body is a return URL when it carries no notify fields.
    const isReturn = (request.method ?? '').toUpperCase() === 'GET' || !(hasFormField(body, 'notify_id') || hasFormField(body, 'notify_type') || hasFormField(body, 'msg_method'));
    return { variant: isReturn ? 'return' : 'notify', data: body };
  }
  const target = request.target ?? '';
  const q = target.indexOf('?');
  if (q >= 0) return { variant: 'return', data: Buffer.from(target.slice(q + 1).split('#')[0], 'latin1') };
  return undefined;
}

/** Settings the verifier reads (DESIGN.md key names). */
interface VerifyKeys {
  key: KeyObject;
  /** SN of the configured Alipay certificate (certificate mode). */
  certSn?: string;
  signType: AlipaySignType;
}

// Parsing a key or certificate costs far more than a verification; `pay verify` over a directory
// passes the same settings for every file, so parsed keys are kept per settings object (checked
// against the texts they came from) and, across settings objects, by their text (a few at most).
const keyCache = new Map<string, { key: KeyObject; certSn?: string }>();
const keysBySettings = new WeakMap<object, { cert: unknown; pub: unknown; signType: unknown; keys: VerifyKeys | { missing: string } | Error }>();

function cachedKey(text: string, cert: boolean): { key: KeyObject; certSn?: string } {
  const id = `${cert ? 'c' : 'k'}:${text}`;
  let hit = keyCache.get(id);
  if (!hit) {
    hit = cert ? { key: loadPublicKey(text), certSn: certSn(text) } : { key: loadPublicKey(text) };
    if (keyCache.size >= 16) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, hit);
  }
  return hit;
}

function keysFrom(settings: Record<string, unknown>): VerifyKeys | { missing: string } {
  const known = keysBySettings.get(settings);
  if (known && known.cert === settings.alipayPublicCert && known.pub === settings.alipayPublicKey && known.signType === settings.signType) {
    if (known.keys instanceof Error) throw known.keys;
    return known.keys;
  }
  let keys: VerifyKeys | { missing: string } | Error;
  try {
    keys = parseKeys(settings);
  } catch (err) {
    keys = err as Error;
  }
  keysBySettings.set(settings, { cert: settings.alipayPublicCert, pub: settings.alipayPublicKey, signType: settings.signType, keys });
  if (keys instanceof Error) throw keys;
  return keys;
}

function parseKeys(settings: Record<string, unknown>): VerifyKeys | { missing: string } {
  const cert = settings.alipayPublicCert;
  const pub = settings.alipayPublicKey;
  const st = settings.signType;
  const signType: AlipaySignType = isSignType(st) ? st : 'RSA2';
  if (typeof cert === 'string' && cert.trim() !== '') {
    try {
      return { ...cachedKey(cert, true), signType };
    } catch {
      throw configError('channels.alipay.alipayPublicCert is not a PEM certificate', { hint: "Give Alipay's public-key certificate (alipayCertPublicKey_RSA2.crt), e.g. as file:PATH." });
    }
  }
  if (typeof pub === 'string' && pub.trim() !== '') {
    try {
      return { ...cachedKey(pub, false), signType };
    } catch {
      throw configError('channels.alipay.alipayPublicKey is not an RSA public key', { hint: "Give Alipay's public key as PEM or the bare base64 the console shows." });
    }
  }
  return { missing: 'channels.alipay.alipayPublicKey (or alipayPublicCert in certificate mode)' };
}

/** Decoded text fields of a form message. */
type Fields = Record<string, string>;

function decodeFields(fields: readonly FormField[], charset: string): Fields {
  const dec = decoderFor(charset);
  const out: Fields = {};
  // ASCII reads the same in every charset pay accepts: most values skip the decoder.
  for (const f of fields) out[f.key] = f.text ?? (isAscii(f.value) ? f.value.toString('latin1') : dec.decode(f.value));
  return out;
}

function money(text: string | undefined, currency: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseAmount(text, currency, { allowZero: true });
  } catch {
    return undefined;
  }
}

function currencyOf(f: Fields): string {
  const c = (f.trans_currency || f.currency || 'CNY').toUpperCase();
  return isKnownCurrency(c) ? c : 'CNY';
}

/** The normalised event of a trade notify or return URL. */
function tradeEvent(f: Fields, type: string): CallbackEvent {
  const currency = currencyOf(f);
  const orderNo = f.out_trade_no || undefined;
  const channelTradeNo = f.trade_no || undefined;
  const providerStatus = f.trade_status || undefined;
  // Literal objects, no spread of a shared base: a spread followed by more properties costs
  // about a microsecond per event in this V8.
  // A refund shows up as a trade_status_sync with refund fields; refund_fee is the order's
  // cumulative refunded amount, not this refund's, so it is reported under data only.
  if (f.out_biz_no && f.refund_fee && f.gmt_refund) {
    return {
      orderNo,
      channelTradeNo,
      currency,
      providerStatus,
      type,
      kind: 'refund',
      refundNo: f.out_biz_no,
      status: 'succeeded' satisfies RefundStatus,
      occurredAt: alipayTimeToIso(f.gmt_refund),
      data: { refundFeeTotal: f.refund_fee, refundFeeTotalMinor: money(f.refund_fee, currency), orderAmountMinor: money(f.total_amount, currency) },
    };
  }
  const status = tradeStatus(f.trade_status);
  return {
    orderNo,
    channelTradeNo,
    currency,
    providerStatus,
    type,
    kind: 'payment',
    amountMinor: money(f.total_amount, currency),
    status,
    occurredAt: alipayTimeToIso(status === 'closed' ? f.gmt_close : f.gmt_payment) ?? alipayTimeToIso(f.notify_time ?? f.timestamp),
    data: { appId: f.app_id, sellerId: f.seller_id, receiptAmount: f.receipt_amount, buyerLogonId: f.buyer_logon_id },
  };
}

/** The normalised event of a fund-transfer status notify (`alipay.fund.trans.order.changed`). */
function payoutEvent(f: Fields): CallbackEvent {
  let biz: Record<string, unknown> = {};
  try {
    biz = JSON.parse(f.biz_content ?? '{}') as Record<string, unknown>;
  } catch {
    /* left empty: the event then names no order */
  }
  const s = (k: string) => (typeof biz[k] === 'string' && biz[k] !== '' ? (biz[k] as string) : undefined);
  const providerStatus = s('status');
  const status: OrderStatus | undefined = providerStatus === 'SUCCESS' ? 'succeeded' : providerStatus === 'FAIL' || providerStatus === 'REFUND' || providerStatus === 'CLOSED' ? 'failed' : providerStatus === 'DEALING' || providerStatus === 'WAIT_PAY' ? 'pending' : undefined;
  return {
    type: f.msg_method,
    kind: 'payout',
    orderNo: s('out_biz_no'),
    channelTradeNo: s('order_id'),
    amountMinor: money(s('trans_amount'), 'CNY'),
    currency: 'CNY',
    status,
    providerStatus,
    occurredAt: alipayTimeToIso(s('pay_date') ?? s('action_time')),
  };
}

/** The normalised event of a saved synchronous answer. */
function responseEvent(member: string, body: Record<string, unknown>): CallbackEvent {
  const f: Fields = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') f[k] = v;
  const type = member.replace(/_response$/, '').replaceAll('_', '.');
  if (member === 'alipay_fund_trans_uni_transfer_response' || member === 'alipay_fund_trans_common_query_response') {
    return { type, kind: 'payout', orderNo: f.out_biz_no, channelTradeNo: f.order_id, providerStatus: f.status, amountMinor: money(f.trans_amount, 'CNY'), currency: 'CNY' };
  }
  if (member === 'alipay_trade_refund_response' || member === 'alipay_trade_fastpay_refund_query_response') {
    return { type, kind: 'refund', orderNo: f.out_trade_no, channelTradeNo: f.trade_no, refundNo: f.out_request_no, amountMinor: money(f.refund_amount, 'CNY'), currency: 'CNY', providerStatus: f.refund_status };
  }
  const currency = currencyOf(f);
  return {
    type,
    kind: f.out_trade_no ? 'payment' : 'other',
    orderNo: f.out_trade_no || undefined,
    channelTradeNo: f.trade_no || undefined,
    amountMinor: money(f.total_amount, currency),
    currency,
    status: tradeStatus(f.trade_status),
    providerStatus: f.trade_status || f.code,
    occurredAt: alipayTimeToIso(f.send_pay_date),
  };
}


// The keys of the last form read, known to have no repeats once checked.
const formKeys: NamesMemo = {};

/** Verifies one Alipay message against settings; pure apart from key parsing. */
export async function verifyAlipayCallback(request: RawRequest, settings: Record<string, unknown>, _options: VerifyOptions): Promise<CallbackVerdict> {
  const found = classify(request);
  const invalid = (reasonCode: VerdictReason, reason: string, extra: Partial<CallbackVerdict> = {}, variant: Variant = 'notify'): CallbackVerdict => ({
    valid: false,
    channel: 'alipay',
    scheme: extra.scheme ?? 'alipay-RSA2',
    reasonCode,
    reason,
    reply: variant === 'notify' ? FAILURE_REPLY : NO_REPLY,
    ...extra,
  });
  if (!found) return invalid('MALFORMED', 'no Alipay message: the body is empty and the URL has no query string');
  const keys = keysFrom(settings);
  if ('missing' in keys) return invalid('MISSING_KEY', `${keys.missing} is not configured`, { dedupKey: bodyDedupKey(found.data) }, found.variant);

  if (found.variant === 'response') return verifySyncResponse(found.data, request, keys);

  const fields = parseForm(found.data);
  const repeated = firstRepeat(formKeys, fields.map((f) => f.key));
  if (repeated !== undefined) return invalid('MALFORMED', `field ${repeated} appears twice`, { dedupKey: bodyDedupKey(found.data) }, found.variant);
  const latin = (k: string) => {
    const field = fields.find((x) => x.key === k);
    return field && (field.text ?? field.value.toString('latin1'));
  };
  const charset = latin('charset') || headerCharset(request.headers) || 'utf-8';
  const f = decodeFields(fields, charset);
  const dedupKey = f.notify_id || bodyDedupKey(found.data);
  const signTypeField = f.sign_type;
  const signType: AlipaySignType = signTypeField === undefined || signTypeField === '' ? keys.signType : (signTypeField as AlipaySignType);
  const scheme = `alipay-${isSignType(signType) ? signType : 'RSA2'}${keys.certSn ? '-cert' : ''}`;
  const event = found.variant === 'notify' && f.msg_method === 'alipay.fund.trans.order.changed' ? payoutEvent(f) : tradeEvent(f, f.notify_type || f.method || 'trade_status_sync');
  const base = { channel: 'alipay', scheme, dedupKey, event };
  const bad = (reasonCode: VerdictReason, reason: string) => invalid(reasonCode, reason, base, found.variant);

  if (!f.sign) return bad('MALFORMED', 'the message has no sign field');
  if (!isSignType(signType)) return bad('MALFORMED', `sign_type ${String(signTypeField).slice(0, 20)} is not RSA2 or RSA`);
  if (keys.certSn && f.alipay_cert_sn && f.alipay_cert_sn !== keys.certSn) {
    return bad('UNKNOWN_KEY', `signed with Alipay certificate ${f.alipay_cert_sn.slice(0, 40)}, but the configured alipayPublicCert is ${keys.certSn}`);
  }
  const check = await verifyFields(fields, f.sign, keys.key, signType);
  if (!check.ok) return bad('BAD_SIGNATURE', `the ${signType} signature does not match the ${found.variant === 'notify' ? 'notification' : 'return URL'} (checked with and without sign_type)`);
  // Alipay's docs: a valid notify for another app or seller is not for us.
  const appId = typeof settings.appId === 'string' ? settings.appId : undefined;
  if (appId && f.app_id && f.app_id !== appId && f.auth_app_id !== appId) return bad('UNKNOWN_KEY', `the message is for app ${f.app_id.slice(0, 32)}, not the configured appId ${appId}`);
  const sellerId = typeof settings.sellerId === 'string' ? settings.sellerId : undefined;
  if (sellerId && f.seller_id && f.seller_id !== sellerId) return bad('UNKNOWN_KEY', `the message is for seller ${f.seller_id.slice(0, 32)}, not the configured sellerId ${sellerId}`);
  return { valid: true, channel: 'alipay', scheme, dedupKey, event, reply: found.variant === 'notify' ? SUCCESS_REPLY : NO_REPLY };
}

async function verifySyncResponse(data: Buffer, request: RawRequest, keys: VerifyKeys): Promise<CallbackVerdict> {
  const dedupKey = bodyDedupKey(data);
  const charset = headerCharset(request.headers) ?? 'utf-8';
  const text = decoderFor(charset).decode(data);
  const scheme = `alipay-${keys.signType}${keys.certSn ? '-cert' : ''}-response`;
  const bad = (reasonCode: VerdictReason, reason: string, event?: CallbackEvent): CallbackVerdict => ({ valid: false, channel: 'alipay', scheme, reasonCode, reason, reply: NO_REPLY, dedupKey, event });
  let parts;
  try {
    parts = extractResponse(text);
  } catch (err) {
    return bad('MALFORMED', `not an Alipay gateway answer: ${(err as Error).message}`);
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(parts.content) as Record<string, unknown>;
  } catch {
    return bad('MALFORMED', `${parts.member} is not a JSON object`);
  }
  const event = responseEvent(parts.member, body);
  if (!parts.sign) return bad('MALFORMED', 'the answer has no sign member', event);
  if (keys.certSn && parts.certSn && parts.certSn !== keys.certSn) return bad('UNKNOWN_KEY', `signed with Alipay certificate ${parts.certSn.slice(0, 40)}, not the configured ${keys.certSn}`, event);
  // The signature covers the member text in the answer's charset: re-encoding the decoded text
  // gives back exactly the received bytes.
  const encode = await encoderFor(charset);
  const ok = verifyContent(encode(parts.content), parts.sign, keys.key, keys.signType);
  if (!ok) return bad('BAD_SIGNATURE', `the signature does not match the raw ${parts.member} text`, event);
  return { valid: true, channel: 'alipay', scheme, reply: NO_REPLY, dedupKey, event };
}

/** How sure we are that a request is an Alipay message (0..1), from its shape alone. */
export function detectAlipay(request: RawRequest): number {
  // Byte searches first: every file of a `pay verify` run is shown to every detector.
  const bytes = (request.body ?? Buffer.alloc(0)).subarray(0, 64 * 1024);
  if (bytes[skipLatin1Space(bytes)] === 0x7b /* { */) {
    if (!hasAscii(bytes, '_response"') || !hasAscii(bytes, '"sign"')) return 0;
    const body = bytes.toString('latin1');
    return /"[a-z_]+_response"\s*:/.test(body) && /"sign"\s*:/.test(body) ? 0.8 : 0;
  }
  if (bytes.length > 0) {
    const has = (k: string) => hasFormField(bytes, k);
    if (!has('sign')) return 0;
    if (has('notify_id') && (has('app_id') || has('notify_type'))) return 0.95;
    if (has('msg_method') && has('app_id')) return 0.9;
    if (has('app_id') && (has('out_trade_no') || has('trade_no'))) return 0.7;
    return 0;
  }
  const has = (s: string, k: string) => new RegExp(`(^|&)${k}=`).test(s);
  const target = request.target ?? '';
  const q = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
  if (has(q, 'sign') && has(q, 'app_id') && (has(q, 'out_trade_no') || /method=alipay\./.test(q))) return 0.8;
  return 0;
}

/** Alipay's offline verifier (`pay verify`). Settings: alipayPublicKey or alipayPublicCert; appId and sellerId when set. */
export const alipayCallbacks: CallbackHandler = {
  detect: detectAlipay,
  verify: verifyAlipayCallback,
};
