/**
 * The UnionPay wire protocol: signing requests, posting them as forms over the shared HTTP client,
 * parsing the raw `k=v` answers, refusing any answer whose signature does not verify (an unsigned
 * answer is never trusted), and recording every call. respCodes are interpreted by the adapter
 * through codes.ts; this module only guarantees that what it returns came from UnionPay.
 */
import { performance } from 'node:perf_hooks';
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import type { HttpClient, HttpResponse } from '../../src/channel/http-client.js';
import { isPayError, PayError } from '../../src/core/errors.js';
import { redactText } from '../../src/core/redact.js';
import { verifyFields } from './callback.js';
import type { UnionPayConfig } from './config.js';
import { autoSubmitForm, encodeForm, fieldsToRecord, parseAnswer, type Charset } from './form.js';
import { signFields } from './signature.js';

/** Gateway paths (under baseUrl). */
export const PATHS = {
  front: '/gateway/api/frontTransReq.do',
  app: '/gateway/api/appTransReq.do',
  back: '/gateway/api/backTransReq.do',
  query: '/gateway/api/queryTrans.do',
} as const;

/** What the client needs from the adapter. */
export interface UnionPayClientDeps {
  http(): Promise<HttpClient>;
  record(entry: ChannelCallRecord): void;
  clock(): number;
}

/** One call. */
export interface UnionPayCall {
  /** `frontTransReq`, `appTransReq`, `backTransReq`, `queryTrans`, `fileTransfer`. */
  operation: string;
  url: string;
  fields: Record<string, string>;
  orderNo?: string;
  refundNo?: string;
  /** Safe to repeat (queries; creates and refunds repeat with the same orderId + txnTime). */
  idempotent: boolean;
}

const CHARSET: Charset = 'utf-8';

/** The first characters of an answer, for messages (secrets removed, control characters blanked). */
export function excerpt(body: Buffer, max = 160): string {
  const text = body.subarray(0, max * 4).toString('utf8').slice(0, max);
  return redactText(text.replace(/[\u0000-\u001f]/g, ' ')) + (body.length > max ? '…' : '');
}

/** Request fields worth recording (never the signature or keys). */
function summary(f: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['txnType', 'txnSubType', 'bizType', 'channelType', 'orderId', 'origQryId', 'queryId', 'txnTime', 'txnAmt', 'currencyCode', 'settleDate', 'respCode', 'respMsg', 'origRespCode']) {
    if (f[k] !== undefined) out[k] = f[k];
  }
  return out;
}

export class UnionPayClient {
  constructor(
    private readonly config: UnionPayConfig,
    private readonly deps: UnionPayClientDeps,
  ) {}

  /** Adds the common fields and signs. */
  sign(fields: Record<string, string>): Record<string, string> {
    const c = this.config;
    return signFields(
      { encoding: 'UTF-8', accessType: '0', merId: c.merId, ...fields },
      { version: c.version, signMethod: c.signMethod, charset: CHARSET, signer: c.signer, secureKey: c.secureKey },
    );
  }

  /** The front-consume form for the payer's browser (no call is made). */
  frontForm(fields: Record<string, string>, orderNo: string): { action: string; html: string; fields: Record<string, string> } {
    const started = performance.now();
    const signed = this.sign(fields);
    const action = `${this.config.baseUrl}${PATHS.front}`;
    this.deps.record({ operation: 'unionpay.frontTransReq', orderNo, request: { form: action, ...summary(signed) }, response: { html: 'auto-submitting form for the payer' }, durationMs: performance.now() - started });
    return { action, html: autoSubmitForm(action, signed), fields: signed };
  }

  /** Posts a signed request and returns the verified answer's fields. */
  async call(call: UnionPayCall): Promise<Record<string, string>> {
    const started = performance.now();
    const signed = this.sign(call.fields);
    const record: ChannelCallRecord = {
      operation: `unionpay.${call.operation}`,
      orderNo: call.orderNo,
      refundNo: call.refundNo,
      request: { url: call.url, ...summary(signed) },
      durationMs: 0,
    };
    const fail = (e: PayError): PayError => {
      this.deps.record({ ...record, error: { code: e.code, message: e.message, providerCode: e.providerCode }, durationMs: performance.now() - started });
      return e;
    };
    let res: HttpResponse;
    try {
      const http = await this.deps.http();
      res = await http.request({
        method: 'POST',
        url: call.url,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', accept: 'text/plain, */*' },
        body: encodeForm(signed, CHARSET),
        idempotent: call.idempotent,
        operation: `unionpay ${call.operation}`,
        orderNo: call.orderNo,
        refundNo: call.refundNo,
        timeoutMs: this.config.timeoutMs,
      });
    } catch (err) {
      throw fail(isPayError(err) ? err : new PayError('CHANNEL_ERROR', `UnionPay ${call.operation} failed: ${(err as Error).message}`, { channel: 'unionpay', cause: err }));
    }
    record.httpStatus = res.status;
    record.attempts = res.attempts;
    const unknownOutcome = call.operation === 'queryTrans' || call.operation === 'fileTransfer' ? undefined : 'The outcome is unknown: `pay query` resolves it, and a retry with the same number is safe.';
    if (res.status !== 200) {
      throw fail(
        new PayError('CHANNEL_ERROR', `UnionPay answered ${call.operation} with HTTP ${res.status}: ${excerpt(res.body)}`, {
          channel: 'unionpay',
          httpStatus: res.status,
          hint: unknownOutcome,
        }),
      );
    }
    let fields: Record<string, string>;
    try {
      const parsed = parseAnswer(res.body);
      const { record: r, duplicate } = fieldsToRecord(parsed.fields);
      if (duplicate) throw new Error(`field ${duplicate} appears twice`);
      if (!r.respCode || !r.version) throw new Error('no respCode or version');
      if (r.signPubKeyCert !== undefined && !/-----END CERTIFICATE-----\s*$/.test(r.signPubKeyCert)) throw new Error('signPubKeyCert is cut short');
      fields = r;
    } catch (err) {
      throw fail(
        new PayError('CHANNEL_ERROR', `UnionPay's answer to ${call.operation} is malformed (${(err as Error).message}): ${excerpt(res.body)}`, {
          channel: 'unionpay',
          httpStatus: res.status,
          hint: unknownOutcome,
        }),
      );
    }
    // Never trust an unsigned or badly signed answer, whatever it claims.
    const check = fields.signature ? await verifyFields(fields, CHARSET, this.config, this.deps.clock()) : undefined;
    if (!check || !check.ok) {
      const why = check ? `${check.reason}: ${check.message}` : 'the answer is not signed';
      const claims = fields.respCode ? ` (it claims respCode ${fields.respCode}${fields.respMsg ? ` ${fields.respMsg}` : ''})` : '';
      throw fail(
        new PayError('SIGNATURE_INVALID', `UnionPay's answer to ${call.operation} failed verification: ${why}${claims}`, {
          channel: 'unionpay',
          providerCode: fields.respCode,
          hint: check?.reason === 'MISSING_KEY' ? 'Configure UnionPay\'s certificates (middleCert, rootCert).' : 'Nothing was applied. Check channels.unionpay.middleCert/rootCert; if they are right, the answer did not come from UnionPay.',
        }),
      );
    }
    this.deps.record({ ...record, response: summary(fields), durationMs: performance.now() - started });
    return fields;
  }
}
