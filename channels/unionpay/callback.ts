/**
 * UnionPay back notifications (form POST to `backUrl`): parsing, offline verification and the
 * normalised event. The same verifier checks synchronous answers (the client hands it their
 * fields), so notifications and answers are trusted by exactly one set of rules.
 *
 * Settings used (config key names of DESIGN.md): `middleCert` + `rootCert` (5.1.0, signMethod 01),
 * `verifyCert` (5.0.0: UnionPay's verify certificate(s), chosen by `certId`), `secureKey`
 * (signMethod 11). No timestamp rule. Reply: HTTP 200 `ok`; anything else makes UnionPay resend.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { bodyDedupKey } from '../../src/channel/callback-kit.js';
import type { CallbackEvent, CallbackVerdict, HttpReply, RawRequest, VerdictReason, VerifyOptions } from '../../src/channel/contract.js';
import { hasFormField } from '../../src/channel/detect.js';
import { readCertificates } from '../../src/channel/pem.js';
import { isoUtc } from '../../src/core/time.js';
import { classify, currencyFromNumber, TXN_TYPE } from './codes.js';
import { charsetOf, parseFormRecord, type Charset, type ParsedFormRecord } from './form.js';
import { certIdOf, checkSignPubKeyCert, verifyRsaAsync, verifySecureKey } from './signature.js';
import { fromMonthDayTime, fromTxnTime } from './wire-time.js';

/** What UnionPay expects when a notification was received. */
export const REPLY_OK: HttpReply = { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'ok' };

/** Any status but 200 tells UnionPay to send the notification again. */
export function replyFail(reason: string): HttpReply {
  return { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `fail: ${reason}` };
}

/** Outcome of {@link verifyFields}. */
export type FieldsCheck = { ok: true; scheme: string } | { ok: false; scheme: string; reason: VerdictReason; message: string };

const certCache = new Map<string, X509Certificate[] | Error>();

/** Parses (and caches) configured certificates; an Error says why they are unusable. */
function certsFrom(value: unknown): X509Certificate[] | Error | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value as X509Certificate[];
  if (typeof value !== 'string') return new Error('not text');
  let hit = certCache.get(value);
  if (!hit) {
    try {
      hit = readCertificates(value);
    } catch (err) {
      hit = err as Error;
    }
    if (certCache.size > 64) certCache.clear();
    certCache.set(value, hit);
  }
  return hit;
}

/** A signing certificate already found trustworthy under a given middle/root, and for when. */
interface Trusted {
  publicKey: KeyObject;
  /** The window in which the leaf and its chain are all valid. */
  from: number;
  to: number;
}

// pem -> middle text -> root text -> trust; nested so that no long key is built per message.
const trusted = new Map<string, Map<unknown, Map<unknown, Trusted>>>();
let lastTrusted: { pem: string; middleText: unknown; rootText: unknown; entry: Trusted } | undefined;

/**
 * The public key of `pem` when it may be trusted at `at`. A chain found good is remembered (per
 * certificate and configured middle/root), so answers signed with the same certificate cost one
 * signature check; the validity window is still checked against `at` every time.
 */
function trustedKey(pem: string, middleText: unknown, rootText: unknown, middle: X509Certificate[], root: X509Certificate[], at: number): Trusted | { reason: VerdictReason; message: string } {
  // Notifications of a run are nearly all signed with one certificate: comparing with the last
  // one found costs less than hashing a kilobyte-long PEM for the map.
  const last = lastTrusted;
  const hit = last && last.pem === pem && last.middleText === middleText && last.rootText === rootText ? last.entry : trusted.get(pem)?.get(middleText)?.get(rootText);
  if (hit && hit !== last?.entry) lastTrusted = { pem, middleText, rootText, entry: hit };
  if (hit && at >= hit.from && at <= hit.to) return hit;
  const check = checkSignPubKeyCert(pem, { middle, root, at });
  if (!check.ok) return { reason: check.reason, message: check.message };
  const issuer = middle.find((m) => check.cert.checkIssued(m))!;
  const top = root.find((r) => issuer.checkIssued(r))!;
  const windows = [check.cert, issuer, top].map((c) => [Date.parse(c.validFrom), Date.parse(c.validTo)]);
  const entry: Trusted = { publicKey: check.cert.publicKey, from: Math.max(...windows.map((w) => w[0])), to: Math.min(...windows.map((w) => w[1])) };
  if (trusted.size > 256) trusted.clear();
  let byMiddle = trusted.get(pem);
  if (!byMiddle) trusted.set(pem, (byMiddle = new Map()));
  let byRoot = byMiddle.get(middleText);
  if (!byRoot) byMiddle.set(middleText, (byRoot = new Map()));
  byRoot.set(rootText, entry);
  return entry;
}

function missing(key: string, scheme: string, why: string): FieldsCheck {
  return { ok: false, scheme, reason: 'MISSING_KEY', message: `channels.unionpay.${key} ${why}` };
}

/**
 * Verifies the signature of a UnionPay message (notification or answer) given as fields, with
 * the verification settings, at moment `at`.
 */
export async function verifyFields(fields: Record<string, string>, charset: Charset, settings: Record<string, unknown>, at: number): Promise<FieldsCheck> {
  const version = fields.version ?? '';
  const signMethod = fields.signMethod ?? '01';
  const scheme = `unionpay-${version || '?'}-${signMethod}`;
  if (!fields.signature) return { ok: false, scheme, reason: 'MALFORMED', message: 'the message has no signature field' };
  if (signMethod === '11') {
    const key = settings.secureKey;
    if (typeof key !== 'string' || key === '') return missing('secureKey', scheme, 'is not configured (signMethod 11 messages are checked with the secure key)');
    return verifySecureKey(fields, key, charset) ? { ok: true, scheme } : { ok: false, scheme, reason: 'BAD_SIGNATURE', message: 'signature does not match the fields and the secure key' };
  }
  if (signMethod !== '01') return { ok: false, scheme, reason: 'MALFORMED', message: `signMethod ${signMethod} is not supported (pay checks 01 RSA certificates and 11 secure key)` };
  if (version === '5.0.0') {
    const certId = fields.certId;
    if (!certId || !/^\d+$/.test(certId)) return { ok: false, scheme, reason: 'MALFORMED', message: 'a 5.0.0 message needs a decimal certId' };
    const certs = certsFrom(settings.verifyCert);
    if (certs === undefined) return missing('verifyCert', scheme, "is not configured (5.0.0 messages are checked with UnionPay's verify certificate, chosen by certId)");
    if (certs instanceof Error) return missing('verifyCert', scheme, `is not a certificate (PEM or base64 DER): ${certs.message}`);
    const cert = certs.find((c) => certIdOf(c) === certId);
    if (!cert) return { ok: false, scheme, reason: 'UNKNOWN_KEY', message: `no configured verifyCert has certId ${certId}` };
    if (at < Date.parse(cert.validFrom) || at > Date.parse(cert.validTo)) {
      return { ok: false, scheme, reason: 'EXPIRED', message: `the verify certificate ${certId} is not valid at ${new Date(at).toISOString()} (valid ${new Date(cert.validFrom).toISOString()} to ${new Date(cert.validTo).toISOString()})` };
    }
    return (await verifyRsaAsync(fields, cert.publicKey, '5.0.0', charset)) ? { ok: true, scheme } : { ok: false, scheme, reason: 'BAD_SIGNATURE', message: 'signature does not match the fields (SHA1withRSA over the SHA-1 hex)' };
  }
  if (version !== '5.1.0') return { ok: false, scheme, reason: 'MALFORMED', message: `version "${version}" is not one pay checks (5.1.0 or 5.0.0)` };
  const pem = fields.signPubKeyCert;
  if (!pem) return { ok: false, scheme, reason: 'MALFORMED', message: 'a 5.1.0 message needs signPubKeyCert' };
  const middle = certsFrom(settings.middleCert);
  const root = certsFrom(settings.rootCert);
  if (middle === undefined) return missing('middleCert', scheme, "is not configured (5.1.0 signing certificates are checked against UnionPay's middle certificate)");
  if (root === undefined) return missing('rootCert', scheme, "is not configured (5.1.0 signing certificates are checked against UnionPay's root certificate)");
  if (middle instanceof Error) return missing('middleCert', scheme, `is not a certificate (PEM or base64 DER): ${middle.message}`);
  if (root instanceof Error) return missing('rootCert', scheme, `is not a certificate (PEM or base64 DER): ${root.message}`);
  const key = trustedKey(pem, settings.middleCert as string, settings.rootCert as string, middle, root, at);
  if ('reason' in key) return { ok: false, scheme, reason: key.reason, message: key.message };
  return (await verifyRsaAsync(fields, key.publicKey, '5.1.0', charset))
    ? { ok: true, scheme }
    : { ok: false, scheme, reason: 'BAD_SIGNATURE', message: 'signature does not match the fields (SHA256withRSA over the SHA-256 hex)' };
}

/** Parses `reqReserved` as pay writes it on refunds (`payOrderNo=<original order>`). */
export function originalOrderOf(reqReserved: string | undefined): string | undefined {
  const m = /(?:^|[{&])payOrderNo=([A-Za-z0-9]{1,40})/.exec(reqReserved ?? '');
  return m?.[1];
}

/** Amount in minor units from UnionPay's integer `txnAmt`, if well-formed. */
export function amountOf(txnAmt: string | undefined): number | undefined {
  return txnAmt && /^\d{1,15}$/.test(txnAmt) ? Number(txnAmt) : undefined;
}

/** The normalised event a notification (or query answer) describes. */
export function eventOf(f: Record<string, string>): CallbackEvent {
  const name = TXN_TYPE[f.txnType ?? ''] ?? `txnType ${f.txnType ?? '?'}`;
  const kind: CallbackEvent['kind'] = f.txnType === '01' ? 'payment' : f.txnType === '04' || f.txnType === '31' ? 'refund' : 'other';
  const event: CallbackEvent = { type: name, kind };
  if (kind === 'payment') {
    event.orderNo = f.orderId || undefined;
    event.channelTradeNo = f.queryId || undefined;
  } else if (kind === 'refund') {
    event.refundNo = f.orderId || undefined;
    event.orderNo = originalOrderOf(f.reqReserved);
    event.channelTradeNo = f.origQryId || undefined;
  } else {
    event.orderNo = f.orderId || undefined;
  }
  const currency = currencyFromNumber(f.currencyCode ?? (f.txnAmt ? '156' : undefined));
  const amount = amountOf(f.txnAmt);
  if (currency && amount !== undefined) {
    event.currency = currency;
    event.amountMinor = amount;
  }
  const cls = classify(f.respCode);
  if (cls === 'success') event.status = 'succeeded';
  else if (cls === 'pending') event.status = 'pending';
  else if (f.respCode) event.status = 'failed';
  event.providerStatus = f.respCode ? `${f.respCode}${f.respMsg ? ` ${f.respMsg}` : ''}` : undefined;
  const sent = fromTxnTime(f.txnTime);
  const traced = f.traceTime && sent !== undefined ? fromMonthDayTime(f.traceTime, sent) : undefined;
  const at = traced ?? sent;
  if (at !== undefined) event.occurredAt = isoUtc(at);
  event.data = {
    merId: f.merId,
    orderId: f.orderId,
    queryId: f.queryId,
    origQryId: f.origQryId,
    txnType: f.txnType,
    txnSubType: f.txnSubType,
    bizType: f.bizType,
    respCode: f.respCode,
    respMsg: f.respMsg,
    settleAmt: f.settleAmt,
    settleDate: f.settleDate,
    traceNo: f.traceNo,
    traceTime: f.traceTime,
    txnTime: f.txnTime,
  };
  return event;
}

/** How likely a raw request is a UnionPay notification (0..1), from the body alone. */
export function detectUnionPay(request: RawRequest): number {
  // Byte searches, no decoding: every file of a `pay verify` run is shown to every detector.
  const body = request.body.subarray(0, 64 * 1024);
  const has = (k: string) => hasFormField(body, k);
  if (!has('signature') || !has('merId') || !has('txnType')) return 0;
  if (has('signPubKeyCert') || has('certId')) return 1;
  return has('signMethod') ? 0.8 : 0.5;
}

/** Verifies a saved back notification offline. */
export async function verifyUnionPayCallback(request: RawRequest, settings: Record<string, unknown>, options: VerifyOptions): Promise<CallbackVerdict> {
  const base = { channel: 'unionpay' };
  let parsed: ParsedFormRecord;
  try {
    parsed = parseFormRecord(request.body);
  } catch (err) {
    const dedupKey = bodyDedupKey(request.body);
    return { ...base, scheme: 'unionpay', valid: false, reasonCode: 'MALFORMED', reason: `not a UnionPay form body: ${(err as Error).message}`, dedupKey, reply: replyFail('malformed') };
  }
  const { record, charset, duplicate } = parsed;
  const dedupKey = record.queryId ? `unionpay:${record.queryId}` : bodyDedupKey(request.body);
  if (duplicate) {
    return { ...base, scheme: 'unionpay', valid: false, reasonCode: 'MALFORMED', reason: `field ${duplicate} appears twice`, dedupKey, reply: replyFail('malformed') };
  }
  if (!charsetOf(record.encoding)) {
    return { ...base, scheme: 'unionpay', valid: false, reasonCode: 'MALFORMED', reason: `unsupported encoding ${record.encoding}`, dedupKey, reply: replyFail('malformed') };
  }
  const check = await verifyFields(record, charset, settings, options.at);
  const event = eventOf(record);
  if (!check.ok) return { ...base, scheme: check.scheme, valid: false, reasonCode: check.reason, reason: check.message, event, dedupKey, reply: replyFail(check.reason) };
  // A literal, not a spread of `base`: spreading then adding properties costs ~1 us per object here.
  return { channel: 'unionpay', scheme: check.scheme, valid: true, event, dedupKey, reply: REPLY_OK };
}
