/**
 * Stripe's wire protocol over the shared HTTP client: form-encoded requests with nested keys,
 * `Authorization: Bearer <secret key>`, a pinned `Stripe-Version`, an `Idempotency-Key` on every
 * POST (derived from our order/refund number by the caller, so a retried create is the same
 * request), JSON answers, and Stripe's `error.type`/`code` mapped onto pay's codes with the raw
 * code kept in `providerCode`. Nothing here knows about orders: the adapter does.
 */
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import type { HttpClient, HttpResponse } from '../../src/channel/http-client.js';
import { redactText } from '../../src/core/redact.js';
import { isPayError, PayError, type ErrorCode } from '../../src/core/errors.js';
import type { StripeConfig } from './config.js';
import { encodeForm, type FormValue } from './form.js';

/** One Stripe API call. */
export interface StripeCall {
  /** Contract operation, for the event log (`collect`, `refund`...). */
  operation: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path under the base URL (`/v1/payment_intents`). */
  path: string;
  /** Form parameters (POST body, or the query string of a GET). */
  params?: Record<string, FormValue>;
  /** Required on POST. */
  idempotencyKey?: string;
  orderNo?: string;
  refundNo?: string;
}

/** The body of a Stripe error answer. */
export interface StripeErrorBody {
  type?: string;
  code?: string;
  decline_code?: string;
  message?: string;
  param?: string;
  payment_intent?: Record<string, unknown>;
}

/** What the adapter gives the client. */
export interface StripeClientDeps {
  http(): Promise<HttpClient>;
  record(entry: ChannelCallRecord): void;
}

const USER_AGENT = 'pay-cli (stripe channel)';

/** The keys of a parameter object, for the event log (values may be personal data). */
function paramSummary(params: Record<string, FormValue> | undefined): unknown {
  if (!params) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (k === 'amount' || k === 'currency' || k === 'limit' || k === 'payment_intent' || k === 'starting_after') out[k] = v;
    else if (k === 'metadata' && v && typeof v === 'object') out[k] = v;
    else out[k] = typeof v === 'object' && v !== null ? '[object]' : v === undefined ? undefined : '…';
  }
  return out;
}

/** Maps a Stripe error answer onto a PayError (raw type/code kept). Exported for tests. */
export function mapStripeError(status: number, body: StripeErrorBody | undefined, response: Pick<HttpResponse, 'headers'>, what: string): PayError {
  const type = body?.type;
  const code = body?.code;
  const providerMessage = body?.message;
  const requestId = response.headers['request-id'];
  const providerCode = code ?? type ?? `http_${status}`;
  const base = { channel: 'stripe', providerCode, providerMessage, httpStatus: status, requestId };
  const said = providerMessage ? `: ${providerMessage}` : '';
  let errCode: ErrorCode;
  let hint: string | undefined;
  if (status === 401 || type === 'authentication_error') {
    errCode = 'AUTHENTICATION_FAILED';
    hint = 'Check channels.stripe.secretKey (test and live keys are separate; a sandbox key works only with pay sandbox).';
  } else if (status === 403 || type === 'permission_error') {
    errCode = 'AUTHENTICATION_FAILED';
    hint = 'The key lacks permission for this call: use a secret key, or widen the restricted key.';
  } else if (status === 429 || type === 'rate_limit_error' || code === 'rate_limit') {
    errCode = 'RATE_LIMITED';
    const after = response.headers['retry-after'];
    hint = `Stripe is rate-limiting this account${after ? `; retry after ${after} s` : ''}. Retrying with the same number is safe (same idempotency key).`;
  } else if (type === 'idempotency_error') {
    errCode = 'INVALID_REQUEST';
    hint = 'Stripe already saw this order/refund number with different parameters (same idempotency key); use a new number, or repeat the original amount and currency.';
  } else if (type === 'card_error') {
    errCode = 'INVALID_REQUEST';
  } else if (type === 'invalid_request_error' || status === 400 || status === 404) {
    if (code === 'resource_missing' || status === 404) errCode = 'ORDER_NOT_FOUND';
    else if (code === 'balance_insufficient' || code === 'insufficient_funds') errCode = 'INSUFFICIENT_BALANCE';
    else errCode = 'INVALID_REQUEST';
  } else if (type === 'api_error' || status >= 500 || status === 409) {
    errCode = 'SYSTEM_ERROR';
    hint = 'Stripe had a problem on its side; the outcome may be unknown. `pay query` resolves it, and a retry with the same number is safe.';
  } else {
    errCode = 'CHANNEL_ERROR';
  }
  return new PayError(errCode, `Stripe refused ${what} (HTTP ${status}, ${providerCode})${said}`, {
    ...base,
    hint,
    details: { stripeType: type, stripeCode: code, declineCode: body?.decline_code, param: body?.param, ...(body?.payment_intent ? { paymentIntent: body.payment_intent } : {}) },
  });
}

/** The Stripe API client of one adapter. */
export class StripeClient {
  constructor(
    private readonly config: StripeConfig,
    private readonly deps: StripeClientDeps,
  ) {}

  /** Sends a call and returns the parsed JSON of a 2xx answer; any other answer throws a PayError. */
  async call<T = Record<string, unknown>>(call: StripeCall): Promise<T> {
    const started = performance.now();
    const what = `${call.method} ${call.path}`;
    let url = `${this.config.baseUrl}${call.path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.config.secretKey}`,
      'stripe-version': this.config.apiVersion,
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    let body: string | undefined;
    if (call.method === 'POST') {
      if (!call.idempotencyKey) throw new PayError('SYSTEM_ERROR', `internal: Stripe POST ${call.path} without an idempotency key`);
      headers['idempotency-key'] = call.idempotencyKey;
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = encodeForm(call.params ?? {});
    } else if (call.params && Object.keys(call.params).length) {
      url += `?${encodeForm(call.params)}`;
    }
    const record: ChannelCallRecord = {
      operation: `stripe.${call.operation}`,
      orderNo: call.orderNo,
      refundNo: call.refundNo,
      request: { method: call.method, path: call.path, params: paramSummary(call.params), idempotencyKey: call.idempotencyKey },
      durationMs: 0,
    };
    let res: HttpResponse;
    try {
      const http = await this.deps.http();
      res = await http.request({
        method: call.method,
        url,
        headers,
        body,
        // GETs are safe to repeat; POSTs carry an idempotency key Stripe deduplicates on.
        idempotent: true,
        operation: `stripe ${call.operation}`,
        orderNo: call.orderNo,
        refundNo: call.refundNo,
        timeoutMs: this.config.timeoutMs,
      });
    } catch (err) {
      const e = isPayError(err) ? err : new PayError('CHANNEL_ERROR', `Stripe ${what} failed: ${(err as Error).message}`, { channel: 'stripe', cause: err });
      this.deps.record({ ...record, error: { code: e.code, message: e.message, providerCode: e.providerCode }, durationMs: performance.now() - started });
      throw e;
    }
    record.httpStatus = res.status;
    record.requestId = res.headers['request-id'];
    record.attempts = res.attempts;
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      json = undefined;
    }
    if (res.status >= 200 && res.status < 300) {
      if (!json || typeof json !== 'object') {
        const e = new PayError('CHANNEL_ERROR', `Stripe answered ${what} with a malformed body (HTTP ${res.status}, not JSON: ${excerpt(res.body)})`, {
          channel: 'stripe',
          httpStatus: res.status,
          requestId: res.headers['request-id'],
          hint: 'The outcome is unknown: `pay query` resolves it, and a retry with the same number is safe.',
        });
        this.deps.record({ ...record, error: { code: e.code, message: e.message }, durationMs: performance.now() - started });
        throw e;
      }
      const o = json as Record<string, unknown>;
      this.deps.record({ ...record, response: { object: o.object, id: o.id, status: o.status }, durationMs: performance.now() - started });
      return json as T;
    }
    const errorBody = json && typeof json === 'object' ? ((json as { error?: StripeErrorBody }).error ?? undefined) : undefined;
    const e = mapStripeError(res.status, errorBody, res, what);
    this.deps.record({ ...record, error: { code: e.code, message: e.message, providerCode: e.providerCode }, durationMs: performance.now() - started });
    throw e;
  }

  /**
   * Downloads a file Stripe produced (a report run's result) with the secret key. The key is only
   * ever sent to the configured API origin or to Stripe's file host.
   */
  async fetchFile(url: string, operation: string): Promise<Buffer> {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw new PayError('CHANNEL_ERROR', `Stripe gave a file URL that is not a URL`, { channel: 'stripe' });
    }
    if (origin !== new URL(this.config.baseUrl).origin && origin !== 'https://files.stripe.com') {
      throw new PayError('CHANNEL_ERROR', `Stripe gave a file on ${origin}, which is neither the API nor files.stripe.com; not sending the key there`, { channel: 'stripe' });
    }
    const started = performance.now();
    const http = await this.deps.http();
    const res = await http.request({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${this.config.secretKey}`, 'stripe-version': this.config.apiVersion, 'user-agent': USER_AGENT },
      idempotent: true,
      operation: `stripe ${operation}`,
      timeoutMs: this.config.timeoutMs,
    });
    this.deps.record({ operation: `stripe.${operation}`, request: { method: 'GET', path: new URL(url).pathname }, httpStatus: res.status, requestId: res.headers['request-id'], attempts: res.attempts, durationMs: performance.now() - started });
    if (res.status !== 200) {
      let body: StripeErrorBody | undefined;
      try {
        body = (JSON.parse(res.body.toString('utf8')) as { error?: StripeErrorBody }).error;
      } catch {
        body = undefined;
      }
      throw mapStripeError(res.status, body, res, `the report file download`);
    }
    return res.body;
  }

  /**
   * Iterates a list endpoint with `starting_after` until `has_more` is false. Yields the items
   * page by page, so a long day never sits in memory whole.
   */
  async *list<T extends { id: string }>(call: Omit<StripeCall, 'method'>): AsyncGenerator<T> {
    let startingAfter: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      const params = { limit: 100, ...(call.params ?? {}), ...(startingAfter ? { starting_after: startingAfter } : {}) };
      const res = await this.call<{ object: string; data: T[]; has_more: boolean }>({ ...call, method: 'GET', params });
      if (!Array.isArray(res.data)) throw new PayError('CHANNEL_ERROR', `Stripe answered ${call.path} without a data list`, { channel: 'stripe' });
      for (const item of res.data) yield item;
      if (!res.has_more || res.data.length === 0) return;
      startingAfter = res.data[res.data.length - 1].id;
    }
  }
}

/** The start of an answer, for error messages: control characters blanked, secrets removed. */
function excerpt(body: Buffer): string {
  const text = body.subarray(0, 400).toString('utf8').slice(0, 120);
  return JSON.stringify(redactText(text.replace(/[\u0000-\u001f]/g, ' ')) + (body.length > 120 ? '…' : ''));
}
