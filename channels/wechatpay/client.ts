/**
 * The WeChat Pay API v3 wire protocol: request signing, response signature checks (every 2xx
 * answer must carry a valid Wechatpay-* signature, or it is not trusted), platform certificates
 * (downloaded from GET /v3/certificates and decrypted with the APIv3 key, or the configured WeChat
 * Pay public key), error bodies `{code, message}` mapped onto the standard codes (the raw code
 * kept in `providerCode`), and the provider's status words mapped onto pay's.
 *
 * Like the official SDKs, non-2xx answers are not signature-checked: they are errors either way,
 * and an unsigned error can never be taken for a success.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/channel/http-client.js';
import { configError, PayError, type ErrorCode } from '../../src/core/errors.js';
import { currencyExponent, convertMinor } from '../../src/core/money.js';
import type { OrderStatus, RefundStatus } from '../../src/core/order.js';
import { isoUtc, type Clock } from '../../src/core/time.js';
import type { WechatpayConfig } from './config.js';
import {
  buildAuthorization,
  certificatesFrom,
  gcmDecrypt,
  keyFromCertificate,
  nonce as makeNonce,
  normalizeSerial,
  verifyV3,
  type EncryptedResource,
  type PlatformKey,
  type V3Check,
} from './signature.js';

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

function signatureError(check: Extract<V3Check, { ok: false }>, operation: string): PayError {
  return new PayError('SIGNATURE_INVALID', `WeChat Pay's answer to ${operation} failed its signature check: ${check.message}`, {
    channel: 'wechatpay',
    details: { reason: check.reason, serial: check.serial },
    hint: 'The answer was not trusted. Its outcome is unknown: run `pay query` later; if this persists, check the platform key settings (platformPublicKey / platformSerial) or the clock.',
  });
}

// ---------------------------------------------------------------------------------------------
// The client

/** One API call. */
export interface CallSpec {
  /** Contract operation for logs (`collect`, `queryRefund`...). */
  operation: string;
  method: 'GET' | 'POST';
  /** Path and query below the base URL (`/v3/pay/transactions/native`). */
  path: string;
  /** JSON body (POST). */
  body?: unknown;
  idempotent: boolean;
  orderNo?: string;
  refundNo?: string;
  /** Extra headers (`Wechatpay-Serial` when a field is encrypted). */
  headers?: Record<string, string>;
  /** Skip the response signature check (only the bill download, which WeChat does not sign). */
  unsigned?: boolean;
  /** Absolute URL instead of baseUrl + path (the bill download_url). */
  absoluteUrl?: string;
  /** Stream a 2xx body to this file. */
  saveTo?: string;
}

/** A checked 2xx answer. */
export interface CallResult<T> {
  status: number;
  /** Parsed JSON; undefined for 204 and unsigned downloads. */
  data: T | undefined;
  headers: Record<string, string>;
  body: Buffer;
  requestId?: string;
}

/** What the client needs from its adapter. */
export interface ClientDeps {
  http(): Promise<HttpClient>;
  clock: Clock;
  record(entry: ChannelCallRecord): void;
  /** Where downloaded platform certificates are cached between runs (public data). */
  stateDir?: string;
  debug?(message: string): void;
}

const CERT_CACHE_MAX_AGE_MS = 12 * 3600_000;

/** Fields of a request body kept out of the event log (personal data; encrypted anyway). */
const UNLOGGED_FIELDS = new Set(['user_name', 'payer', 'scene_info']);

function summarize(body: unknown): unknown {
  if (!body || typeof body !== 'object') return undefined;
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k]) => !UNLOGGED_FIELDS.has(k)));
}

/** Configured keys first, then others whose serial they do not have. */
function mergeKeys(first: PlatformKey[], second: PlatformKey[]): PlatformKey[] {
  const seen = new Set(first.map((k) => k.serial));
  return [...first, ...second.filter((k) => !seen.has(k.serial))];
}

/** Signs, sends and checks WeChat Pay API v3 calls for one merchant. */
export class WechatpayClient {
  private downloaded?: { keys: PlatformKey[]; fetchedAt: number };
  private downloading?: Promise<PlatformKey[]>;
  private cacheRead = false;

  constructor(
    readonly config: WechatpayConfig,
    private readonly deps: ClientDeps,
  ) {}

  /**
   * True in certificate mode (no WeChat Pay public key configured): platform certificates may be
   * downloaded from GET /v3/certificates. Configured certificates are used first; a serial they do
   * not know (a rotation) triggers a download.
   */
  get downloadsCertificates(): boolean {
    return !this.config.platformKeys.some((k) => k.kind === 'publicKey');
  }

  private origin(): string {
    return new URL(this.config.baseUrl).origin;
  }

  /** Sends one call and returns the checked answer; throws a PayError otherwise. */
  async call<T>(spec: CallSpec): Promise<CallResult<T>> {
    const started = performance.now();
    const url = spec.absoluteUrl ?? `${this.config.baseUrl}${spec.path}`;
    const target = new URL(url);
    const bodyText = spec.body === undefined ? '' : JSON.stringify(spec.body);
    const record: ChannelCallRecord = {
      operation: `wechatpay.${spec.operation}`,
      orderNo: spec.orderNo,
      refundNo: spec.refundNo,
      request: { method: spec.method, path: target.pathname, body: summarize(spec.body) },
      durationMs: 0,
    };
    let res: HttpResponse | undefined;
    try {
      const timestamp = Math.floor(this.deps.clock() / 1000);
      const headers: Record<string, string> = {
        accept: 'application/json',
        // WeChat Pay rejects requests without a User-Agent.
        'user-agent': 'pay-cli (wechatpay)',
        authorization: buildAuthorization({
          mchId: this.config.mchId,
          serialNo: this.config.serialNo,
          privateKey: this.config.privateKey,
          method: spec.method,
          url: `${target.pathname}${target.search}`,
          body: bodyText,
          timestamp,
          nonce: makeNonce(),
        }),
        ...(spec.headers ?? {}),
      };
      if (spec.method === 'POST') headers['content-type'] = 'application/json';
      const http = await this.deps.http();
      const req: HttpRequest = {
        method: spec.method,
        url,
        headers,
        idempotent: spec.idempotent,
        operation: `wechatpay.${spec.operation}`,
        orderNo: spec.orderNo,
        refundNo: spec.refundNo,
      };
      if (spec.method === 'POST') req.body = bodyText;
      if (spec.saveTo) req.saveTo = spec.saveTo;
      res = await http.request(req);
      record.httpStatus = res.status;
      record.attempts = res.attempts;
      const requestId = res.headers['request-id'];
      record.requestId = requestId;
      if (res.status < 200 || res.status >= 300) throw errorFromResponse(res.status, res.body, spec.operation, requestId);
      // A body no parser accepts is reported as such (with an excerpt) before its signature is
      // checked: either way it is rejected, and "not JSON" says more than "bad signature".
      let data: T | undefined;
      if (!spec.unsigned && res.body.length > 0) {
        try {
          data = JSON.parse(res.body.toString('utf8')) as T;
        } catch {
          throw new PayError('CHANNEL_ERROR', `WeChat Pay answered ${spec.operation} with a body that is not JSON: ${excerpt(res.body)}`, {
            channel: 'wechatpay',
            httpStatus: res.status,
            requestId,
            hint: 'The outcome is unknown: run `pay query` later.',
          });
        }
        if (!data || typeof data !== 'object') {
          throw new PayError('CHANNEL_ERROR', `WeChat Pay answered ${spec.operation} with JSON that is not an object: ${excerpt(res.body)}`, { channel: 'wechatpay', httpStatus: res.status, requestId });
        }
      }
      if (!spec.unsigned) await this.verifyResponse(res, spec.operation);
      record.response = data ?? { status: res.status };
      return { status: res.status, data, headers: res.headers, body: res.body, requestId };
    } catch (err) {
      const e = err as PayError;
      record.error = { code: e.code ?? 'SYSTEM_ERROR', message: e.message, providerCode: e.providerCode };
      throw err;
    } finally {
      record.durationMs = performance.now() - started;
      this.deps.record(record);
    }
  }

  /** Checks a 2xx answer's signature; downloads or refreshes platform certificates as needed. */
  async verifyResponse(res: Pick<HttpResponse, 'headers' | 'body'>, operation: string): Promise<void> {
    const now = this.deps.clock();
    let keys = await this.platformKeys();
    let check = verifyV3(res.headers, res.body, { keys }, now);
    // A serial we have not seen means WeChat Pay rotated its certificate: fetch the new set once.
    if (!check.ok && check.reason === 'UNKNOWN_KEY' && this.downloadsCertificates) {
      keys = await this.platformKeys(true);
      check = verifyV3(res.headers, res.body, { keys }, now);
    }
    if (!check.ok) throw signatureError(check, operation);
  }

  /**
   * The platform keys: the configured ones, plus in certificate mode those downloaded (cached in
   * memory and in the state dir). `refresh` downloads again.
   */
  async platformKeys(refresh = false): Promise<PlatformKey[]> {
    const configured = this.config.platformKeys;
    if (!this.downloadsCertificates) return configured;
    const now = this.deps.clock();
    if (!refresh) {
      if (this.downloaded && now - this.downloaded.fetchedAt < CERT_CACHE_MAX_AGE_MS) return mergeKeys(configured, this.downloaded.keys);
      if (!this.downloaded && !this.cacheRead) {
        // Once per client: a missing cache file is not looked for again on every call.
        this.cacheRead = true;
        const cached = await this.readCache(now);
        if (cached) {
          this.downloaded = cached;
          return mergeKeys(configured, cached.keys);
        }
      }
      // Configured certificates suffice until an answer names one they do not know.
      if (!this.downloaded && configured.length) return configured;
    }
    this.downloading ??= this.downloadCertificates().finally(() => {
      this.downloading = undefined;
    });
    return mergeKeys(configured, await this.downloading);
  }

  /** A key to encrypt sensitive fields with, and its serial (for the Wechatpay-Serial header). */
  async encryptionKey(): Promise<PlatformKey & { serial: string }> {
    const now = this.deps.clock();
    const usable = (await this.platformKeys()).filter((k) => k.serial && (k.notAfter === undefined || k.notAfter > now) && (k.notBefore === undefined || k.notBefore <= now));
    // The newest certificate (latest expiry) is the one WeChat Pay expects during a rotation.
    usable.sort((a, b) => (b.notAfter ?? Infinity) - (a.notAfter ?? Infinity));
    const k = usable[0];
    if (!k) throw new PayError('SIGNATURE_INVALID', 'no valid WeChat Pay platform key to encrypt the payee name with', { channel: 'wechatpay' });
    return k as PlatformKey & { serial: string };
  }

  private cachePath(): string | undefined {
    if (!this.deps.stateDir) return undefined;
    const id = createHash('sha256').update(`${this.config.baseUrl}|${this.config.mchId}`).digest('hex').slice(0, 16);
    return join(this.deps.stateDir, `platform-certificates-${id}.json`);
  }

  private async readCache(now: number): Promise<{ keys: PlatformKey[]; fetchedAt: number } | undefined> {
    const path = this.cachePath();
    if (!path) return undefined;
    try {
      const j = JSON.parse(await readFile(path, 'utf8')) as { fetchedAt: number; certificates: string[] };
      if (typeof j.fetchedAt !== 'number' || now - j.fetchedAt >= CERT_CACHE_MAX_AGE_MS || !Array.isArray(j.certificates)) return undefined;
      const keys = j.certificates.flatMap((pem) => certificatesFrom(pem).map(keyFromCertificate));
      return keys.length ? { keys, fetchedAt: j.fetchedAt } : undefined;
    } catch {
      return undefined;
    }
  }

  private async writeCache(pems: string[], fetchedAt: number): Promise<void> {
    const path = this.cachePath();
    if (!path) return;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify({ fetchedAt, certificates: pems }));
    } catch (err) {
      this.deps.debug?.(`could not cache WeChat Pay platform certificates: ${(err as Error).message}`);
    }
  }

  /**
   * GET /v3/certificates: decrypts each certificate with the APIv3 key, then checks the answer's
   * own signature with the certificate it names (the bootstrap the official SDKs use).
   */
  private async downloadCertificates(): Promise<PlatformKey[]> {
    const res = await this.call<WireCertificates>({ operation: 'certificates', method: 'GET', path: '/v3/certificates', idempotent: true, unsigned: true });
    let parsed: WireCertificates;
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as WireCertificates;
    } catch {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay answered GET /v3/certificates with a body that is not JSON: ${excerpt(res.body)}`, { channel: 'wechatpay' });
    }
    if (!parsed || !Array.isArray(parsed.data) || parsed.data.length === 0) {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay answered GET /v3/certificates without certificates: ${excerpt(res.body)}`, { channel: 'wechatpay' });
    }
    const pems: string[] = [];
    const keys: PlatformKey[] = [];
    for (const item of parsed.data) {
      const enc = item.encrypt_certificate;
      let pem: string;
      try {
        pem = gcmDecrypt(enc.ciphertext, this.config.apiV3Key, enc.nonce, enc.associated_data ?? '').toString('utf8');
      } catch {
        throw configError('channels.wechatpay.apiV3Key does not decrypt the platform certificates WeChat Pay sent', {
          hint: 'Check the APIv3 key (API Security in the merchant platform); it is not the APIv2 key.',
        });
      }
      const [cert] = certificatesFrom(pem);
      if (!cert) throw new PayError('CHANNEL_ERROR', `platform certificate ${item.serial_no} did not decrypt to a certificate`, { channel: 'wechatpay' });
      const key = keyFromCertificate(cert);
      if (key.serial !== normalizeSerial(item.serial_no)) {
        throw new PayError('SIGNATURE_INVALID', `platform certificate listed as ${item.serial_no} has serial ${key.serial}`, { channel: 'wechatpay' });
      }
      pems.push(pem);
      keys.push(key);
    }
    const check = verifyV3(res.headers, res.body, { keys }, this.deps.clock());
    if (!check.ok) throw signatureError(check, 'GET /v3/certificates');
    const fetchedAt = this.deps.clock();
    this.downloaded = { keys, fetchedAt };
    await this.writeCache(pems, fetchedAt);
    return keys;
  }

  /** Origin check for absolute URLs WeChat Pay hands out (the signed header must not leak elsewhere). */
  assertSameOrigin(url: string, what: string): void {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay sent a ${what} that is not a URL: ${excerpt(url)}`, { channel: 'wechatpay' });
    }
    if (u.origin !== this.origin()) {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay sent a ${what} on ${u.origin}, not ${this.origin()}; refusing to send a signed request there`, { channel: 'wechatpay' });
    }
  }
}
