/**
 * Alipay's OpenAPI gateway protocol (`gateway.do`): request building and RSA2 signing, answer
 * parsing with the signature checked on the raw `<method>_response` text (never re-serialised),
 * certificate-mode serial numbers, and the mapping of Alipay's `code`/`sub_code` onto pay's
 * standard codes (the raw `sub_code` is kept as providerCode).
 *
 * Requests: every parameter form-encoded in a UTF-8 POST body; `biz_content` is the JSON of the
 * business fields. Answers: `{"<method>_response":{"code":"10000",...},"sign":"..."}` (plus
 * `alipay_cert_sn` in certificate mode); gateway-level failures may come as `error_response`.
 * An answer that claims success without a valid signature is never trusted.
 */
import type { KeyObject } from 'node:crypto';
import { TextDecoder } from 'node:util';
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import type { HttpClient, HttpResponse } from '../../src/channel/http-client.js';
import { PayError, type ErrorCode } from '../../src/core/errors.js';
import type { Clock } from '../../src/core/time.js';
import { utcToBeijing } from './beijing-time.js';
import type { AlipayConfig } from './config.js';
import { encodeForm, extractResponse, fieldsOf, loadPrivateKey, loadPublicKey, responseMember, signParams, verifyContent } from './signature.js';

/** Alipay's success code. */
export const SUCCESS_CODE = '10000';

/** A parsed, verified gateway answer. */
export interface AlipayAnswer {
  /** The `<method>_response` object. */
  body: Record<string, unknown>;
  /** Its raw text, as signed. */
  raw: string;
}

/** What a call needs besides the business fields. */
export interface CallOptions {
  /** Safe to repeat (queries; creates carrying the same out_trade_no / out_request_no / out_biz_no). */
  idempotent: boolean;
  orderNo?: string;
  refundNo?: string;
  /** Extra common parameters (notify_url, return_url). */
  params?: Record<string, string>;
}

/** Standard code and hint for an Alipay failure. */
interface Mapped {
  code: ErrorCode;
  hint?: string;
}

const SIGNATURE_HINT = 'Alipay rejected the request signature: check that channels.alipay.privateKey matches the app public key (or appCert) set on the Alipay console, and signType.';

/**
 * Maps Alipay's `code`/`sub_code` onto a standard code. Business failures (40004) map by
 * sub_code; an unknown one is CHANNEL_ERROR (the order is left as it is, not failed).
 */
export function mapAlipayError(code: string, subCode: string | undefined): Mapped {
  const sub = subCode ?? '';
  if (/invalid-signature|invalid-signature-type|cert-sn|app-cert/i.test(sub)) return { code: 'AUTHENTICATION_FAILED', hint: SIGNATURE_HINT };
  if (/call[-_]?limit|access[-_]?limit|rate[-_]?limit|flow[-_]?limit|TOO_MANY/i.test(sub)) return { code: 'RATE_LIMITED', hint: 'Alipay is limiting calls from this app; retry later with the same order number.' };
  if (/^isv\.(invalid-app-id|missing-app-id|app-unbind-partner|insufficient-isv-permissions|insufficient-user-permissions|invalid-app-auth-token|invalid-auth-token|app-not-exist|invalid-encrypt)/.test(sub) || code === '40006' || code === '20001') {
    return { code: 'AUTHENTICATION_FAILED', hint: 'Check channels.alipay.appId and that the app is online and has this product (interface) enabled on the Alipay console.' };
  }
  if (code === '20000' || /^isp\./.test(sub) || /SYSTEM_ERROR|SYSTEM_BUSY|^aop\.unknow/i.test(sub)) {
    return { code: 'SYSTEM_ERROR', hint: 'Alipay had an internal error; the outcome is unknown. Query the order, then retry with the same number.' };
  }
  switch (sub) {
    case 'ACQ.TRADE_NOT_EXIST':
    case 'ORDER_NOT_EXIST':
    case 'ACQ.REFUND_NOT_EXIST':
      return { code: 'ORDER_NOT_FOUND' };
    case 'ACQ.SELLER_BALANCE_NOT_ENOUGH':
    case 'BALANCE_IS_NOT_ENOUGH':
    case 'PAYER_BALANCE_NOT_ENOUGH':
    case 'ACQ.BALANCE_NOT_ENOUGH':
      return { code: 'INSUFFICIENT_BALANCE', hint: 'Top up the Alipay account balance, then retry with the same number.' };
    case 'ACQ.ACCESS_FORBIDDEN':
    case 'ACQ.SELLER_BEEN_BLOCKED':
    case 'ACQ.PARTNER_ERROR':
    case 'PERMIT_CHECK_PERM_LIMITED':
      return { code: 'AUTHENTICATION_FAILED', hint: 'The merchant or app may not use this product: check the contract and interface permissions on the Alipay console.' };
  }
  if (code === '40001' || code === '40002') return { code: 'INVALID_REQUEST' };
  if (code === '40004') {
    // Known final "no"s: the request can never succeed as asked.
    if (/^ACQ\.(TRADE_HAS_SUCCESS|TRADE_HAS_CLOSE|TRADE_HAS_FINISHED|TRADE_STATUS_ERROR|REFUND_AMT_NOT_EQUAL_TOTAL|REFUND_FEE_ERROR|REASON_TRADE_BEEN_FREEZEN|CONTEXT_INCONSISTENT|TOTAL_FEE_EXCEED|INVALID_PARAMETER|DISCORDANT_REPEAT_REQUEST|TRADE_BUYER_NOT_MATCH|BUYER_ENABLE_STATUS_FORBID|REFUND_CHARGE_ERROR|NOT_ALLOW_PARTIAL_REFUND|CHECK_PARTNER_ERROR)$/.test(sub)) return { code: 'INVALID_REQUEST' };
    if (/^(PAYEE_|PAYER_|EXCEED_LIMIT|AMOUNT_|INVALID_PARAMETER|MONEY_PAY_CLOSED|PRODUCT_NOT_SIGN|CARD_BIN_ERROR|REQUEST_PROCESSING)/.test(sub)) {
      return { code: sub === 'REQUEST_PROCESSING' ? 'SYSTEM_ERROR' : 'INVALID_REQUEST' };
    }
  }
  return { code: 'CHANNEL_ERROR' };
}

function excerpt(text: string, max = 200): string {
  const t = text.replace(/[\u0000-\u001f]/g, ' ');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

function charsetOf(res: HttpResponse): string {
  const m = /charset=([\w-]+)/i.exec(res.headers['content-type'] ?? '');
  const c = (m?.[1] ?? 'utf-8').toLowerCase();
  return c === 'gbk' || c === 'gb2312' || c === 'gb18030' ? 'gb18030' : 'utf-8';
}

/** Dependencies of the client. */
export interface AlipayClientDeps {
  http(): Promise<HttpClient>;
  clock: Clock;
  record(entry: ChannelCallRecord): void;
}

/** The gateway client: one per adapter. */
export class AlipayClient {
  private readonly privateKey: KeyObject;
  private readonly alipayKey: KeyObject;

  constructor(
    readonly config: AlipayConfig,
    private readonly deps: AlipayClientDeps,
  ) {
    this.privateKey = loadPrivateKey(config.privateKey);
    this.alipayKey = loadPublicKey(config.alipayPublicKey);
  }

  /** Common parameters of every request, in Alipay's names. */
  commonParams(method: string, extra: Record<string, string> = {}): Record<string, string> {
    const p: Record<string, string> = {
      app_id: this.config.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: this.config.signType,
      // Beijing time: Alipay rejects timestamps far from its own clock.
      timestamp: utcToBeijing(this.deps.clock()),
      version: '1.0',
    };
    if (this.config.cert) {
      p.app_cert_sn = this.config.cert.appCertSn;
      p.alipay_root_cert_sn = this.config.cert.alipayRootCertSn;
    }
    for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') p[k] = v;
    return p;
  }

  /** Signed request parameters (`sign` included). */
  signed(method: string, biz: Record<string, unknown> | undefined, extra: Record<string, string> = {}): Record<string, string> {
    const params = this.commonParams(method, extra);
    if (biz) params.biz_content = JSON.stringify(biz);
    params.sign = signParams(params, this.privateKey, this.config.signType);
    return params;
  }

  /** A signed GET URL for the payer's browser (page and wap pay make no call of their own). */
  pageUrl(method: string, biz: Record<string, unknown>, extra: Record<string, string> = {}): string {
    const params = this.signed(method, biz, extra);
    const sep = this.config.gateway.includes('?') ? '&' : '?';
    return `${this.config.gateway}${sep}${encodeForm(fieldsOf(params))}`;
  }

  /** Calls a gateway method; resolves with the verified `<method>_response` of a success. */
  async call(method: string, biz: Record<string, unknown> | undefined, options: CallOptions): Promise<AlipayAnswer> {
    const started = performance.now();
    const params = this.signed(method, biz, options.params);
    const record: ChannelCallRecord = {
      operation: method,
      orderNo: options.orderNo,
      refundNo: options.refundNo,
      request: { method, biz_content: biz },
      durationMs: 0,
    };
    try {
      const http = await this.deps.http();
      const res = await http.request({
        method: 'POST',
        url: this.config.gateway,
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
        body: encodeForm(fieldsOf(params)),
        idempotent: options.idempotent,
        operation: method,
        orderNo: options.orderNo,
        refundNo: options.refundNo,
      });
      record.httpStatus = res.status;
      record.attempts = res.attempts;
      record.requestId = res.headers.trace_id ?? res.headers['x-trace-id'];
      const answer = this.parse(method, res);
      record.response = summary(answer.body);
      record.durationMs = performance.now() - started;
      this.deps.record(record);
      return answer;
    } catch (err) {
      const e = err as PayError;
      record.durationMs = performance.now() - started;
      record.error = { code: e.code ?? 'SYSTEM_ERROR', message: e.message, providerCode: e.providerCode };
      this.deps.record(record);
      throw err;
    }
  }

  /** GETs a URL Alipay gave (the bill download), idempotently. */
  async download(url: string, operation: string): Promise<Buffer> {
    const started = performance.now();
    const http = await this.deps.http();
    const res = await http.request({ method: 'GET', url, idempotent: true, operation });
    this.deps.record({ operation, request: { url: url.replace(/\?.*$/, '?…') }, httpStatus: res.status, attempts: res.attempts, durationMs: performance.now() - started, response: { bytes: res.body.length } });
    if (res.status !== 200) {
      throw new PayError(res.status >= 500 ? 'SYSTEM_ERROR' : 'CHANNEL_ERROR', `Alipay's bill download answered HTTP ${res.status}: ${excerpt(res.body.toString('utf8'))}`, {
        channel: 'alipay',
        httpStatus: res.status,
        hint: 'The download URL is valid for 30 seconds: run the download again.',
      });
    }
    return res.body;
  }

  /** Parses and verifies an answer; throws the mapped PayError for a failure. */
  parse(method: string, res: HttpResponse): AlipayAnswer {
    const text = new TextDecoder(charsetOf(res)).decode(res.body);
    if (res.status !== 200) {
      throw new PayError(res.status >= 500 ? 'SYSTEM_ERROR' : 'CHANNEL_ERROR', `Alipay answered ${method} with HTTP ${res.status}: ${excerpt(text)}`, {
        channel: 'alipay',
        httpStatus: res.status,
        hint: res.status >= 500 ? 'The outcome is unknown: query the order, then retry with the same number.' : 'Check channels.alipay.gateway.',
      });
    }
    let parts;
    try {
      parts = extractResponse(text, method);
    } catch (err) {
      throw new PayError('CHANNEL_ERROR', `Alipay's answer to ${method} is not a gateway answer (${(err as Error).message}): ${excerpt(text)}`, {
        channel: 'alipay',
        httpStatus: res.status,
        hint: 'Check that channels.alipay.gateway points at the OpenAPI gateway (…/gateway.do). The outcome of the call is unknown.',
      });
    }
    let body: Record<string, unknown>;
    try {
      const v = JSON.parse(parts.content) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      body = v as Record<string, unknown>;
    } catch {
      throw new PayError('CHANNEL_ERROR', `Alipay's ${parts.member} is not a JSON object: ${excerpt(parts.content)}`, { channel: 'alipay' });
    }
    const code = typeof body.code === 'string' ? body.code : '';
    const subCode = typeof body.sub_code === 'string' ? body.sub_code : undefined;
    this.checkSignature(method, parts, code);
    if (code === SUCCESS_CODE && parts.member === responseMember(method)) return { body, raw: parts.content };
    const msg = [body.msg, body.sub_msg].filter((s) => typeof s === 'string' && s !== '').join(': ');
    const mapped = mapAlipayError(code, subCode);
    throw new PayError(mapped.code, `Alipay refused ${method}: ${subCode ?? code}${msg ? ` (${excerpt(msg, 160)})` : ''}`, {
      channel: 'alipay',
      providerCode: subCode ?? code,
      providerMessage: typeof body.sub_msg === 'string' ? body.sub_msg : typeof body.msg === 'string' ? body.msg : undefined,
      httpStatus: res.status,
      hint: mapped.hint,
    });
  }

  /**
   * Never trust an unsigned success. An error answer without a signature is accepted as the error
   * it claims (Alipay does not sign some gateway-level errors; it only ever makes us do less).
   */
  private checkSignature(method: string, parts: { member: string; content: string; sign?: string; certSn?: string }, code: string): void {
    if (!parts.sign) {
      if (code !== SUCCESS_CODE) return;
      throw new PayError('SIGNATURE_INVALID', `Alipay's answer to ${method} carries no signature; it was not trusted`, {
        channel: 'alipay',
        hint: 'Something between pay and Alipay altered the answer, or the gateway is not Alipay. The outcome is unknown: query the order.',
      });
    }
    if (this.config.cert && parts.certSn && parts.certSn !== this.config.cert.alipayCertSn) {
      throw new PayError('SIGNATURE_INVALID', `Alipay signed its answer to ${method} with certificate ${excerpt(parts.certSn, 40)}, not the configured alipayPublicCert (${this.config.cert.alipayCertSn})`, {
        channel: 'alipay',
        hint: "Alipay has rotated its certificate: download the current alipayCertPublicKey_RSA2.crt from the console and update channels.alipay.alipayPublicCert.",
      });
    }
    if (!verifyContent(Buffer.from(parts.content, 'utf8'), parts.sign, this.alipayKey, this.config.signType)) {
      throw new PayError('SIGNATURE_INVALID', `the signature of Alipay's answer to ${method} does not verify; it was not trusted`, {
        channel: 'alipay',
        hint: `Check channels.alipay.${this.config.cert ? 'alipayPublicCert' : 'alipayPublicKey'} (Alipay's key, not your app's). The outcome is unknown: query the order.`,
      });
    }
  }
}

/** The fields of an answer worth keeping in the event log. */
function summary(body: Record<string, unknown>): Record<string, unknown> {
  const keep = ['code', 'msg', 'sub_code', 'out_trade_no', 'trade_no', 'trade_status', 'total_amount', 'refund_fee', 'fund_change', 'out_request_no', 'refund_status', 'refund_amount', 'out_biz_no', 'order_id', 'status', 'available_amount'];
  const out: Record<string, unknown> = {};
  for (const k of keep) if (body[k] !== undefined) out[k] = body[k];
  return out;
}
