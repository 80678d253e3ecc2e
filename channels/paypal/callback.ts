/**
 * PayPal webhook events: offline verification (`pay verify`), the normalised event, and a builder
 * of signed events (the simulator and tests).
 *
 * Event body: {"id":"WH-...","event_version":"1.0","create_time":"...","resource_type":"capture",
 * "event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"...","resource":{...},"links":[...]}.
 * PayPal counts any 2xx as delivered and retries otherwise; we answer 200 (empty body) when valid
 * and 400 when not, so a misconfigured receiver makes PayPal retry rather than drop the event.
 */
import { randomUUID, type KeyObject, type X509Certificate } from 'node:crypto';
import { bodyDedupKey, buildJsonCallback, jsonErrorReply, parseJsonBody } from '../../src/channel/callback-kit.js';
import type { CallbackEvent, CallbackHandler, CallbackVerdict, HttpReply, RawRequest, VerifyOptions } from '../../src/channel/contract.js';
import { hasAscii } from '../../src/channel/detect.js';
import { readCertificates } from '../../src/channel/pem.js';
import { configError } from '../../src/core/errors.js';
import type { OrderStatus, RefundStatus } from '../../src/core/order.js';
import { isKnownCurrency } from '../../src/core/money.js';
import { fromPaypalValue } from './currency.js';
import { AUTH_ALGO, checkCertificate, HEADERS, signTransmission, transmissionMessage, verifyTransmissionAsync } from './signature.js';

export const SUCCESS_REPLY: HttpReply = { status: 200, headers: {}, body: '' };


type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** Maps a capture's status to pay's order status. */
export function captureStatus(status: unknown): Extract<OrderStatus, 'pending' | 'succeeded' | 'failed'> {
  switch (status) {
    case 'COMPLETED':
    case 'PARTIALLY_REFUNDED':
    case 'REFUNDED':
      return 'succeeded';
    case 'DECLINED':
    case 'FAILED':
      return 'failed';
    default:
      return 'pending';
  }
}

/** Maps a refund's status to pay's refund status. */
export function refundStatus(status: unknown): RefundStatus {
  if (status === 'COMPLETED') return 'succeeded';
  if (status === 'CANCELLED' || status === 'FAILED') return 'failed';
  return 'pending';
}

/** Maps a payout item's transaction status to pay's order status. */
export function payoutItemStatus(status: unknown): Extract<OrderStatus, 'pending' | 'succeeded' | 'failed'> {
  switch (status) {
    case 'SUCCESS':
      return 'succeeded';
    case 'FAILED':
    case 'RETURNED':
    case 'BLOCKED':
    case 'REFUNDED':
    case 'REVERSED':
    case 'DENIED':
    case 'CANCELED':
      return 'failed';
    default:
      return 'pending';
  }
}

function money(amount: unknown): { amountMinor?: number; currency?: string } {
  const a = obj(amount);
  const currency = str(a?.currency_code) ?? str(a?.currency);
  if (!currency || !isKnownCurrency(currency)) return {};
  const value = str(a?.value);
  if (!value) return { currency };
  try {
    return { currency, amountMinor: fromPaypalValue(value, currency) };
  } catch {
    return { currency };
  }
}

/** A PayPal event as parsed from the body. */
export interface PaypalEvent {
  id: string;
  eventType: string;
  createTime?: string;
  resourceType?: string;
  resource: Obj;
}

/** Parses an event body; a string says why it is not one. */
export function parseEvent(body: Buffer): PaypalEvent | string {
  const parsed = parseJsonBody(body);
  if (typeof parsed === 'string') return parsed;
  const o = obj(parsed.json);
  if (!o || typeof o.id !== 'string') return 'body is not a PayPal event (a JSON object with an "id")';
  return { id: o.id, eventType: str(o.event_type) ?? 'unknown', createTime: str(o.create_time), resourceType: str(o.resource_type), resource: obj(o.resource) ?? {} };
}

/** The normalised event of a PayPal event. */
export function toEvent(e: PaypalEvent): CallbackEvent {
  const r = e.resource;
  const event: CallbackEvent = { type: e.eventType, kind: 'other' };
  if (e.createTime && !Number.isNaN(Date.parse(e.createTime))) event.occurredAt = new Date(e.createTime).toISOString();
  const type = e.eventType;
  if (type.startsWith('PAYMENT.CAPTURE.') && type !== 'PAYMENT.CAPTURE.REFUNDED' && type !== 'PAYMENT.CAPTURE.REVERSED') {
    event.kind = 'payment';
    event.orderNo = str(r.invoice_id) ?? str(r.custom_id);
    const related = obj(obj(obj(r.supplementary_data)?.related_ids));
    event.channelTradeNo = str(related?.order_id) ?? str(r.id);
    Object.assign(event, money(r.amount));
    event.status = captureStatus(r.status);
    event.providerStatus = str(r.status);
  } else if (type === 'PAYMENT.CAPTURE.REFUNDED' || type.startsWith('PAYMENT.REFUND.')) {
    event.kind = 'refund';
    event.orderNo = str(r.custom_id);
    event.refundNo = str(r.invoice_id);
    event.channelTradeNo = str(r.id);
    Object.assign(event, money(r.amount));
    event.status = refundStatus(r.status);
    event.providerStatus = str(r.status);
  } else if (type.startsWith('CHECKOUT.ORDER.')) {
    event.kind = 'payment';
    const unit = obj(Array.isArray(r.purchase_units) ? r.purchase_units[0] : undefined);
    event.orderNo = str(unit?.invoice_id) ?? str(unit?.custom_id) ?? str(unit?.reference_id);
    event.channelTradeNo = str(r.id);
    Object.assign(event, money(unit?.amount));
    event.providerStatus = str(r.status);
    // An approval moves no money (the merchant still captures): it claims no order status. Nor
    // does the completion of an AUTHORIZE order: it is authorized, the capture comes later.
    const authorizeOnly = r.intent === 'AUTHORIZE' && !(Array.isArray(obj(unit?.payments)?.captures) && (obj(unit?.payments)!.captures as unknown[]).length > 0);
    if (r.status === 'COMPLETED' && authorizeOnly) event.status = 'pending';
    else if (r.status === 'COMPLETED') event.status = 'succeeded';
    else if (r.status === 'VOIDED') event.status = 'closed';
    else if (r.status !== 'APPROVED') event.status = 'pending';
  } else if (type.startsWith('PAYMENT.PAYOUTS-ITEM.')) {
    event.kind = 'payout';
    const item = obj(r.payout_item);
    event.orderNo = str(item?.sender_item_id);
    event.channelTradeNo = str(r.payout_batch_id);
    Object.assign(event, money(item?.amount));
    event.status = payoutItemStatus(r.transaction_status);
    event.providerStatus = str(r.transaction_status);
  } else if (type.startsWith('PAYMENT.PAYOUTSBATCH.')) {
    event.kind = 'payout';
    const header = obj(r.batch_header);
    event.orderNo = str(obj(header?.sender_batch_header)?.sender_batch_id);
    event.channelTradeNo = str(header?.payout_batch_id);
    const s = str(header?.batch_status);
    event.providerStatus = s;
    event.status = s === 'SUCCESS' ? 'succeeded' : s === 'DENIED' || s === 'CANCELED' ? 'failed' : 'pending';
  }
  event.data = { id: e.id, resourceType: e.resourceType, resourceId: str(r.id) };
  return event;
}

/** What a signed event needs. */
export interface SignEventOptions {
  webhookId: string;
  privateKey: KeyObject | string;
  certUrl: string;
  nowMs: number;
  transmissionId?: string;
  target?: string;
}

/** Builds a signed PayPal webhook event as a raw request (what the simulator POSTs). */
export function buildEvent(eventType: string, resourceType: string, resource: Obj, summary: string, options: SignEventOptions): RawRequest {
  const created = new Date(options.nowMs).toISOString();
  const id = `WH-${randomUUID().replace(/-/g, '').slice(0, 17).toUpperCase()}-${randomUUID().replace(/-/g, '').slice(0, 17).toUpperCase()}`;
  const event = {
    id,
    event_version: '1.0',
    create_time: created,
    resource_type: resourceType,
    resource_version: '2.0',
    event_type: eventType,
    summary,
    resource,
    links: [
      { href: `https://api.paypal.com/v1/notifications/webhooks-events/${id}`, rel: 'self', method: 'GET' },
      { href: `https://api.paypal.com/v1/notifications/webhooks-events/${id}/resend`, rel: 'resend', method: 'POST' },
    ],
  };
  const transmissionId = options.transmissionId ?? randomUUID();
  // PayPal writes the transmission time with seconds precision and a Z.
  const transmissionTime = `${created.slice(0, 19)}Z`;
  return buildJsonCallback({
    event,
    target: options.target ?? '/webhooks/paypal',
    headers: { 'content-type': 'application/json', 'user-agent': 'PayPal/AUHD-214.0-58830046' },
    sign: (body) => ({
      [HEADERS.id]: transmissionId,
      [HEADERS.time]: transmissionTime,
      [HEADERS.sig]: signTransmission(options.privateKey, transmissionMessage(transmissionId, transmissionTime, options.webhookId, body)),
      [HEADERS.certUrl]: options.certUrl,
      [HEADERS.algo]: AUTH_ALGO,
    }),
  });
}

function certificatesFrom(value: unknown, key: string): X509Certificate[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw configError(`channels.paypal.${key} must be PEM text (e.g. file:PATH)`);
  try {
    return readCertificates(value);
  } catch {
    throw configError(`channels.paypal.${key} is not a PEM certificate`, { hint: 'Give the certificate file PAYPAL-CERT-URL points to, as file:PATH.' });
  }
}

/** The configured certificates, parsed, and what is known about trusting the signing one. */
interface CertSettings {
  /** The texts they were parsed from: a changed setting is parsed again. */
  certificate: unknown;
  caCertificate: unknown;
  /** The certificates, or the config error they raise (raised again for every callback). */
  parsed: { certs?: X509Certificate[]; ca: X509Certificate[]; key?: KeyObject } | Error;
  /** Once trusted: the moments at which every certificate of the chain is valid. */
  trustedFrom?: number;
  trustedTo?: number;
}

// Parsing a certificate costs ten RSA verifications, and `pay verify` passes the same settings
// object for every callback of a run: the parsed certificates are kept per settings object.
const bySettings = new WeakMap<object, CertSettings>();

function certSettings(settings: Record<string, unknown>): CertSettings {
  let entry = bySettings.get(settings);
  if (entry && entry.certificate === settings.certificate && entry.caCertificate === settings.caCertificate) return entry;
  let parsed: CertSettings['parsed'];
  try {
    const certs = certificatesFrom(settings.certificate, 'certificate');
    // Without a signing certificate the verdict is MISSING_KEY, whatever the CA setting holds.
    const ca = certs ? (certificatesFrom(settings.caCertificate, 'caCertificate') ?? []) : [];
    parsed = { certs, ca, key: certs?.[0].publicKey };
  } catch (err) {
    parsed = err as Error;
  }
  entry = { certificate: settings.certificate, caCertificate: settings.caCertificate, parsed };
  bySettings.set(settings, entry);
  return entry;
}

/** {@link checkCertificate}, skipped while `at` stays inside a chain already found good. */
function trustAt(entry: CertSettings, cert: X509Certificate, ca: X509Certificate[], at: number): ReturnType<typeof checkCertificate> {
  if (entry.trustedFrom !== undefined && at >= entry.trustedFrom && at <= entry.trustedTo!) return { ok: true };
  const visited: X509Certificate[] = [];
  const trust = checkCertificate(cert, at, ca, visited);
  if (trust.ok) {
    entry.trustedFrom = Math.max(...visited.map((c) => Date.parse(c.validFrom)));
    entry.trustedTo = Math.min(...visited.map((c) => Date.parse(c.validTo)));
  }
  return trust;
}

/** PayPal's offline verifier. Settings: `webhookId`, `certificate`, optional `caCertificate`. */
export const paypalCallbacks: CallbackHandler = {
  detect(request: RawRequest): number {
    if (request.headers[HEADERS.sig] && request.headers[HEADERS.id]) return 1;
    // A byte search before any decoding: every file of a `pay verify` run is shown to every detector.
    if (!hasAscii(request.body.subarray(0, 512), '"WH-')) return 0;
    const head = request.body.subarray(0, 512).toString('utf8');
    return /"id"\s*:\s*"WH-/.test(head) && /"event_type"\s*:/.test(head) ? 0.5 : 0;
  },
  async verify(request: RawRequest, settings: Record<string, unknown>, options: VerifyOptions): Promise<CallbackVerdict> {
    const base = { channel: 'paypal', scheme: 'paypal-sha256withrsa' };
    const parsed = parseEvent(request.body);
    const event = typeof parsed === 'string' ? undefined : toEvent(parsed);
    const transmissionId = request.headers[HEADERS.id];
    const dedupKey = typeof parsed === 'string' ? (transmissionId ?? bodyDedupKey(request.body)) : parsed.id;
    const fail = (reasonCode: NonNullable<CallbackVerdict['reasonCode']>, reason: string): CallbackVerdict => ({ ...base, valid: false, reasonCode, reason, event, dedupKey, reply: jsonErrorReply(reasonCode) });

    const webhookId = typeof settings.webhookId === 'string' && settings.webhookId !== '' ? settings.webhookId : undefined;
    if (!webhookId) return fail('MISSING_KEY', 'channels.paypal.webhookId is not configured (the id of your webhook; it is part of the signed message)');
    const entry = certSettings(settings);
    if (entry.parsed instanceof Error) throw entry.parsed;
    const { certs, ca, key } = entry.parsed;
    if (!certs || !key) return fail('MISSING_KEY', 'channels.paypal.certificate is not configured (the PEM that PAYPAL-CERT-URL points to)');

    const time = request.headers[HEADERS.time];
    const sig = request.headers[HEADERS.sig];
    if (!transmissionId || !time || !sig) {
      const missing = [!transmissionId && 'PAYPAL-TRANSMISSION-ID', !time && 'PAYPAL-TRANSMISSION-TIME', !sig && 'PAYPAL-TRANSMISSION-SIG'].filter(Boolean);
      return fail('MALFORMED', `missing ${missing.join(', ')} header${missing.length > 1 ? 's' : ''}`);
    }
    const algo = request.headers[HEADERS.algo];
    if (algo && algo !== AUTH_ALGO) return fail('MALFORMED', `PAYPAL-AUTH-ALGO ${algo.slice(0, 40)} is not ${AUTH_ALGO}`);
    const cert = certs[0];
    const trust = trustAt(entry, cert, ca, options.at);
    if (!trust.ok) return fail('UNTRUSTED_CERT', trust.message);
    const message = transmissionMessage(transmissionId, time, webhookId, request.body);
    if (!(await verifyTransmissionAsync(key, message, sig))) {
      return fail('BAD_SIGNATURE', 'the transmission signature does not match (body, transmission id/time, webhook id or certificate differ from what PayPal signed)');
    }
    if (typeof parsed === 'string') return { ...base, valid: false, reasonCode: 'MALFORMED', reason: parsed, dedupKey, reply: jsonErrorReply('malformed') };
    // A literal, not a spread of `base`: spreading then adding properties costs ~1 us per object here.
    return { channel: 'paypal', scheme: 'paypal-sha256withrsa', valid: true, event, dedupKey, reply: SUCCESS_REPLY };
  },
};
