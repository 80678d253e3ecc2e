/**
 * WeChat Pay notifications: detection, offline verification and the normalised event, for both
 * API generations, plus builders of signed notifications (the simulator and the tests use them).
 *
 * v3: JSON POST with Wechatpay-* headers; the signature is checked over the raw body
 * (signature.ts), then `resource` is decrypted with the APIv3 key. Reply: 200 (empty body) when
 * valid; otherwise 4xx/5xx with `{"code":"FAIL","message":"..."}` so WeChat Pay retries.
 * v2: XML POST; payment notifications carry `sign` (MD5 or HMAC-SHA256 with the APIv2 key),
 * refund notifications carry `req_info` (AES-256-ECB). Reply: `<xml><return_code>SUCCESS...`.
 *
 * Settings verification reads (config key names of DESIGN.md): `platformPublicKey` +
 * `platformSerial` and/or `platformCertificate` (v3 signature), `apiV3Key` (v3 resource),
 * `apiKey` (v2).
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { bodyDedupKey, buildJsonCallback, parseJsonBody } from '../../src/channel/callback-kit.js';
import type { CallbackEvent, CallbackHandler, CallbackVerdict, HttpReply, RawRequest, VerdictReason, VerifyOptions } from '../../src/channel/contract.js';
import { hasAscii } from '../../src/channel/detect.js';
import { isoUtc } from '../../src/core/time.js';
import { fromWire, orderStatusOf, payoutStatusOf, refundStatusOf, wireTimeToIso, type WireNotification, type WireRefund, type WireTransaction, type WireTransferBill } from './client.js';
import { platformKeysFrom } from './config.js';
import {
  decryptReqInfo,
  DEFAULT_TOLERANCE_SEC,
  encryptReqInfo,
  encryptResource,
  gcmDecrypt,
  H,
  hexEquals,
  signResponse,
  v2Sign,
  verifyV3Async,
  type PlatformKey,
  type V2SignType,
} from './signature.js';

const CHANNEL = 'wechatpay';

// ---------------------------------------------------------------------------------------------
// Replies

/** What WeChat Pay v3 expects on success: 200 (or 204), no body needed. */
export const V3_SUCCESS_REPLY: HttpReply = { status: 200, headers: {}, body: '' };

function v3FailureReply(reason: VerdictReason, message: string): HttpReply {
  // 4xx/5xx makes WeChat Pay retry; 5xx for problems on our side that a fix can cure.
  const status = reason === 'MALFORMED' ? 400 : reason === 'MISSING_KEY' || reason === 'DECRYPT_FAILED' ? 500 : 401;
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'FAIL', message }) };
}

/** The v2 reply, XML. */
export function v2Reply(ok: boolean, message = ok ? 'OK' : 'FAIL'): HttpReply {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml' },
    body: `<xml><return_code><![CDATA[${ok ? 'SUCCESS' : 'FAIL'}]]></return_code><return_msg><![CDATA[${message.replace(/]]>/g, '')}]]></return_msg></xml>`,
  };
}

// ---------------------------------------------------------------------------------------------
// Flat XML (v2 messages are one level deep)

/** Parses `<xml><k>v</k>...</xml>` (CDATA or text); undefined when it is not such a document. */
export function parseFlatXml(text: string, root?: string): Record<string, string> | undefined {
  const t = text.replace(/^\uFEFF/, '').trim().replace(/^<\?xml[^>]*\?>\s*/, '');
  // No DTDs: v2 messages never have one, and entity tricks have no business here.
  if (/<!DOCTYPE|<!ENTITY/i.test(t)) return undefined;
  const m = /^<([A-Za-z_][\w.-]*)>([\s\S]*)<\/\1>$/.exec(t);
  if (!m || (root && m[1] !== root)) return undefined;
  const out: Record<string, string> = {};
  const child = /\s*<([A-Za-z_][\w.-]*)>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>\s*/y;
  let pos = 0;
  const inner = m[2];
  while (pos < inner.length) {
    child.lastIndex = pos;
    const c = child.exec(inner);
    if (!c) {
      if (inner.slice(pos).trim() === '') break;
      return undefined;
    }
    out[c[1]] = c[2] !== undefined ? c[2] : decodeEntities(c[3] ?? '');
    pos = child.lastIndex;
  }
  return out;
}

function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (all, e: string) => {
    const map: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return map[e.toLowerCase()] ?? all;
  });
}

/** Builds flat XML with CDATA values (as WeChat Pay writes them). */
export function buildFlatXml(fields: Record<string, string | undefined>, root = 'xml'): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (/^\d+$/.test(v!) ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`));
  return `<${root}>${parts.join('')}</${root}>`;
}

// ---------------------------------------------------------------------------------------------
// Events

function kindOf(eventType: string): CallbackEvent['kind'] {
  if (eventType.startsWith('TRANSACTION.')) return 'payment';
  if (eventType.startsWith('REFUND.')) return 'refund';
  if (eventType.startsWith('MCHTRANSFER.')) return 'payout';
  return 'other';
}

function safeAmount(v: unknown, currency = 'CNY'): number | undefined {
  if (typeof v !== 'number') return undefined;
  try {
    return fromWire(v, currency);
  } catch {
    return undefined;
  }
}

/** The normalised event of a decrypted v3 resource. */
export function eventFromResource(eventType: string, resource: Record<string, unknown>, createTime?: string): CallbackEvent {
  const kind = kindOf(eventType);
  const event: CallbackEvent = { type: eventType, kind };
  if (kind === 'payment') {
    const t = resource as unknown as WireTransaction;
    event.orderNo = t.out_trade_no;
    event.channelTradeNo = t.transaction_id;
    event.currency = t.amount?.currency ?? 'CNY';
    event.amountMinor = safeAmount(t.amount?.total, event.currency);
    event.providerStatus = t.trade_state;
    event.status = orderStatusOf(t.trade_state);
    event.occurredAt = wireTimeToIso(t.success_time) ?? wireTimeToIso(createTime);
  } else if (kind === 'refund') {
    const r = resource as unknown as WireRefund;
    event.orderNo = r.out_trade_no;
    event.channelTradeNo = r.transaction_id;
    event.refundNo = r.out_refund_no;
    event.currency = r.amount?.currency ?? 'CNY';
    event.amountMinor = safeAmount(r.amount?.refund, event.currency);
    event.providerStatus = r.refund_status ?? r.status;
    event.status = event.providerStatus ? refundStatusOf(event.providerStatus) : undefined;
    event.occurredAt = wireTimeToIso(r.success_time) ?? wireTimeToIso(createTime);
  } else if (kind === 'payout') {
    const b = resource as unknown as WireTransferBill;
    event.orderNo = b.out_bill_no;
    event.channelTradeNo = b.transfer_bill_no;
    event.currency = 'CNY';
    event.amountMinor = safeAmount(b.transfer_amount);
    event.providerStatus = b.state;
    event.status = payoutStatusOf(b.state);
    event.occurredAt = wireTimeToIso(b.update_time) ?? wireTimeToIso(createTime);
  } else {
    event.occurredAt = wireTimeToIso(createTime);
  }
  event.data = resource;
  return event;
}

// ---------------------------------------------------------------------------------------------
// Verification

/** Keys for verification, already parsed. */
export interface CallbackKeys {
  platformKeys: PlatformKey[];
  apiV3Key?: string;
  apiKey?: string;
}

function parseV3Body(body: Buffer): WireNotification | string {
  const parsed = parseJsonBody(body);
  if (typeof parsed === 'string') return parsed;
  const o = parsed.json as WireNotification;
  if (!o || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.event_type !== 'string') return 'body is not a WeChat Pay notification ({id, event_type, resource})';
  if (!o.resource || typeof o.resource !== 'object' || typeof o.resource.ciphertext !== 'string' || typeof o.resource.nonce !== 'string') {
    return 'notification has no encrypted resource (resource.ciphertext, resource.nonce)';
  }
  return o;
}

/** Verifies a v3 notification with parsed keys. */
export async function verifyV3Notification(request: RawRequest, keys: CallbackKeys, options: VerifyOptions): Promise<CallbackVerdict> {
  const base = { channel: CHANNEL, scheme: 'wechatpay-v3' };
  const parsed = parseV3Body(request.body);
  const dedupKey = typeof parsed === 'string' ? bodyDedupKey(request.body) : parsed.id;
  // What a failure verdict shows of the event; built only for failures (a valid one decrypts the full event).
  const shallow = (): CallbackEvent | undefined => (typeof parsed === 'string' ? undefined : { type: parsed.event_type, kind: kindOf(parsed.event_type), occurredAt: wireTimeToIso(parsed.create_time) });
  const fail = (reasonCode: VerdictReason, reason: string): CallbackVerdict => ({ ...base, valid: false, reasonCode, reason, event: shallow(), dedupKey, reply: v3FailureReply(reasonCode, reason) });
  if (keys.platformKeys.length === 0) {
    return fail('MISSING_KEY', 'channels.wechatpay.platformPublicKey (with platformSerial) or platformCertificate is not configured: nothing to verify the signature with');
  }
  const check = await verifyV3Async(request.headers, request.body, { keys: keys.platformKeys }, options.at, options.toleranceSec ?? DEFAULT_TOLERANCE_SEC);
  if (!check.ok) return fail(check.reason, check.message);
  if (typeof parsed === 'string') return fail('MALFORMED', parsed);
  if (!keys.apiV3Key) return fail('MISSING_KEY', 'the signature is valid, but channels.wechatpay.apiV3Key is not configured, so the resource cannot be decrypted');
  const r = parsed.resource;
  if (r.algorithm && r.algorithm !== 'AEAD_AES_256_GCM') return fail('MALFORMED', `resource.algorithm ${String(r.algorithm).slice(0, 30)} is not AEAD_AES_256_GCM`);
  let plain: Buffer;
  try {
    plain = gcmDecrypt(r.ciphertext, keys.apiV3Key, r.nonce, r.associated_data ?? '');
  } catch (err) {
    return fail('DECRYPT_FAILED', `resource does not decrypt: ${(err as Error).message}`);
  }
  let resource: Record<string, unknown>;
  try {
    resource = JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
    if (!resource || typeof resource !== 'object') throw new Error('not an object');
  } catch {
    return fail('MALFORMED', 'decrypted resource is not a JSON object');
  }
  // A literal, not a spread of `base`: spreading then adding properties costs ~1 us per object here.
  return { channel: CHANNEL, scheme: 'wechatpay-v3', valid: true, event: eventFromResource(parsed.event_type, resource, parsed.create_time), dedupKey, reply: V3_SUCCESS_REPLY };
}

/** `yyyyMMddHHmmss` in UTC+8 (v2 time_end) -> ISO UTC. */
function v2TimeToIso(t: string | undefined): string | undefined {
  if (!t) return undefined;
  let m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(t);
  if (!m) m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(t);
  if (!m) return undefined;
  return isoUtc(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - 8 * 3600_000);
}

function v2Amount(text: string | undefined, currency: string): number | undefined {
  if (!text || !/^\d{1,15}$/.test(text)) return undefined;
  return safeAmount(Number(text), currency);
}

/** Verifies a v2 XML notification (payment: sign; refund: req_info). */
export function verifyV2Notification(request: RawRequest, keys: CallbackKeys): CallbackVerdict {
  const fields = parseFlatXml(request.body.toString('utf8'), 'xml');
  const scheme = fields?.req_info !== undefined ? 'wechatpay-v2-req_info' : 'wechatpay-v2';
  const base = { channel: CHANNEL, scheme };
  const dedupFallback = bodyDedupKey(request.body);
  const fail = (reasonCode: VerdictReason, reason: string, event?: CallbackEvent, dedupKey = dedupFallback): CallbackVerdict => ({
    ...base,
    valid: false,
    reasonCode,
    reason,
    event,
    dedupKey,
    reply: v2Reply(false, reasonCode),
  });
  if (!fields) return fail('MALFORMED', 'body is not a flat <xml> document');
  if (!keys.apiKey) return fail('MISSING_KEY', 'channels.wechatpay.apiKey (the APIv2 key) is not configured');
  if (fields.req_info !== undefined) {
    let inner: Record<string, string> | undefined;
    try {
      inner = parseFlatXml(decryptReqInfo(fields.req_info, keys.apiKey), 'root');
    } catch (err) {
      return fail('DECRYPT_FAILED', (err as Error).message);
    }
    // ECB has no tag: a wrong key shows as padding garbage or text that is not the expected XML.
    if (!inner || !inner.out_refund_no) return fail('DECRYPT_FAILED', 'req_info does not decrypt to a refund record (wrong APIv2 key?)');
    const currency = 'CNY';
    const event: CallbackEvent = {
      type: 'REFUND',
      kind: 'refund',
      orderNo: inner.out_trade_no,
      channelTradeNo: inner.transaction_id,
      refundNo: inner.out_refund_no,
      currency,
      amountMinor: v2Amount(inner.refund_fee, currency),
      providerStatus: inner.refund_status,
      status: inner.refund_status === 'SUCCESS' ? 'succeeded' : inner.refund_status === 'REFUNDCLOSE' ? 'failed' : inner.refund_status === 'CHANGE' ? 'pending' : undefined,
      occurredAt: v2TimeToIso(inner.success_time),
      data: inner,
    };
    return { ...base, valid: true, event, dedupKey: `v2-refund:${inner.refund_id ?? inner.out_refund_no}:${inner.refund_status ?? ''}`, reply: v2Reply(true) };
  }
  const currency = fields.fee_type || 'CNY';
  const paid = fields.return_code === 'SUCCESS' && fields.result_code === 'SUCCESS';
  const event: CallbackEvent = {
    type: 'TRANSACTION',
    kind: 'payment',
    orderNo: fields.out_trade_no,
    channelTradeNo: fields.transaction_id,
    currency,
    amountMinor: v2Amount(fields.total_fee, currency),
    providerStatus: fields.result_code ?? fields.return_code,
    status: paid ? 'succeeded' : fields.result_code === 'FAIL' ? 'failed' : undefined,
    occurredAt: v2TimeToIso(fields.time_end),
    data: Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'sign')),
  };
  const dedupKey = fields.transaction_id ? `v2:${fields.transaction_id}` : dedupFallback;
  const sign = fields.sign;
  if (!sign) return fail('MALFORMED', 'v2 notification has no sign field', event, dedupKey);
  let type: V2SignType;
  if (fields.sign_type === 'HMAC-SHA256' || fields.sign_type === 'MD5') type = fields.sign_type;
  else if (fields.sign_type) return fail('MALFORMED', `sign_type ${fields.sign_type.slice(0, 20)} is neither MD5 nor HMAC-SHA256`, event, dedupKey);
  // Payment notifications omit sign_type even when the order was signed with HMAC-SHA256.
  else type = sign.length === 64 ? 'HMAC-SHA256' : 'MD5';
  if (!hexEquals(v2Sign(fields, keys.apiKey, type), sign)) return fail('BAD_SIGNATURE', `${type} sign does not match the fields`, event, dedupKey);
  return { channel: CHANNEL, scheme, valid: true, event, dedupKey, reply: v2Reply(true) };
}

/** Parsed platform keys by their config text: parsing a PEM costs more than verifying with it. */
const parsedKeys = new Map<string, PlatformKey[]>();
/**
 * ...and by settings object, so a directory of files verified with one config parses nothing
 * twice; with the texts they came from, so a key changed on the same object is read again.
 */
const keysBySettings = new WeakMap<object, { texts: unknown[]; keys: PlatformKey[] }>();

function keysFrom(settings: Record<string, unknown>): CallbackKeys {
  const s = (k: string) => (typeof settings[k] === 'string' && settings[k] !== '' ? (settings[k] as string) : undefined);
  const pre = settings.platformKeys;
  let platformKeys: PlatformKey[];
  if (Array.isArray(pre)) platformKeys = pre as PlatformKey[];
  else {
    const texts = [settings.platformPublicKey, settings.platformSerial, settings.platformCertificate];
    const known = keysBySettings.get(settings);
    if (known && known.texts.every((t, i) => t === texts[i])) platformKeys = known.keys;
    else {
      const id = JSON.stringify(texts.map((t) => t ?? null));
      platformKeys = parsedKeys.get(id) ?? platformKeysFrom(settings);
      if (parsedKeys.size > 64) parsedKeys.clear();
      parsedKeys.set(id, platformKeys);
      keysBySettings.set(settings, { texts, keys: platformKeys });
    }
  }
  return { platformKeys, apiV3Key: s('apiV3Key'), apiKey: s('apiKey') };
}

function isXml(body: Buffer): boolean {
  const start = body.subarray(0, 64);
  // Detection asks this of every file: no '<' byte, no XML, without decoding anything.
  if (start.indexOf(0x3c) < 0) return false;
  const head = start.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<xml>') || head.startsWith('<?xml');
}

/** The channel's offline verifier. */
export const wechatpayCallbacks: CallbackHandler = {
  detect(request: RawRequest): number {
    const h = request.headers;
    if (h[H.signature] && h[H.serial]) return 1;
    if (h[H.signature] || h[H.serial] || h[H.timestamp]) return 0.9;
    if (isXml(request.body)) {
      const text = request.body.subarray(0, 4096).toString('utf8');
      if (/<(return_code|req_info)>/.test(text) && /<(mch_id|appid)>/.test(text)) return 0.9;
      if (/<mch_id>/.test(text)) return 0.5;
      return 0;
    }
    const head = request.body.subarray(0, 4096);
    if (!hasAscii(head, '"encrypt-resource"')) return 0;
    const text = head.toString('utf8');
    if (/"resource_type"\s*:\s*"encrypt-resource"/.test(text) && /"event_type"/.test(text)) return 0.6;
    return 0;
  },
  async verify(request: RawRequest, settings: Record<string, unknown>, options: VerifyOptions): Promise<CallbackVerdict> {
    // A key in the wrong format throws CONFIG_ERROR (exit 2): it is not a verdict on the callback.
    const keys = keysFrom(settings);
    if (!request.headers[H.signature] && isXml(request.body)) return verifyV2Notification(request, keys);
    return verifyV3Notification(request, keys, options);
  },
};

// ---------------------------------------------------------------------------------------------
// Builders (the simulator and the tests)

/** What a v3 notification carries. */
export interface V3NotificationOptions {
  eventType: string;
  /** `transaction`, `refund`, `mch_payment`... */
  originalType: string;
  resource: object;
  summary?: string;
  apiV3Key: string;
  /** Platform signing key and its serial. */
  privateKey: KeyObject;
  serial: string;
  nowMs: number;
  id?: string;
  target?: string;
}

/** Builds a signed, encrypted v3 notification as a raw request (what WeChat Pay POSTs). */
export function buildV3Notification(o: V3NotificationOptions): RawRequest {
  const createTime = `${new Date(o.nowMs + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
  return buildJsonCallback({
    event: {
      id: o.id ?? randomUUID(),
      create_time: createTime,
      resource_type: 'encrypt-resource',
      event_type: o.eventType,
      summary: o.summary ?? '支付成功',
      resource: encryptResource(JSON.stringify(o.resource), o.apiV3Key, o.originalType),
    },
    target: o.target ?? '/notify/wechatpay',
    headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/4.0' },
    sign: (body) => signResponse({ privateKey: o.privateKey, serial: o.serial, body, timestamp: Math.floor(o.nowMs / 1000) }),
  });
}

/** Builds a signed v2 payment notification (XML). */
export function buildV2PayNotify(fields: Record<string, string>, apiKey: string, type: V2SignType = 'MD5', options: { includeSignType?: boolean } = {}): RawRequest {
  const all: Record<string, string> = { ...fields };
  if (options.includeSignType) all.sign_type = type;
  all.sign = v2Sign(all, apiKey, type);
  return { method: 'POST', target: '/notify/wechatpay', headers: { 'content-type': 'text/xml' }, body: Buffer.from(buildFlatXml(all), 'utf8') };
}

/** Builds a v2 refund notification with an encrypted `req_info`. */
export function buildV2RefundNotify(outer: Record<string, string>, reqInfo: Record<string, string>, apiKey: string): RawRequest {
  const xml = buildFlatXml({ return_code: 'SUCCESS', ...outer, req_info: encryptReqInfo(buildFlatXml(reqInfo, 'root'), apiKey) });
  return { method: 'POST', target: '/notify/wechatpay', headers: { 'content-type': 'text/xml' }, body: Buffer.from(xml, 'utf8') };
}
