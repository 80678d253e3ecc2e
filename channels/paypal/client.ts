/**
 * PayPal's REST wire protocol over the shared HTTP client: an OAuth2 client-credentials token
 * (POST /v1/oauth2/token with Basic auth) cached until shortly before it expires and shared by
 * concurrent calls, JSON bodies, `PayPal-Request-Id` on every POST (derived from our numbers by
 * the caller, so a retried create is the same request), and PayPal's error answers
 * (`name` / `details[].issue`, or OAuth's `error`) mapped onto pay's codes with the raw code kept.
 */
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import type { HttpClient, HttpResponse } from '../../src/channel/http-client.js';
import { redactText } from '../../src/core/redact.js';
import { isPayError, PayError, type ErrorCode } from '../../src/core/errors.js';
import type { Clock } from '../../src/core/time.js';
import type { PaypalConfig } from './config.js';

/** One PayPal API call. */
export interface PaypalCall {
  operation: string;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** PayPal-Request-Id; required on POST. */
  requestId?: string;
  orderNo?: string;
  refundNo?: string;
}

/** A PayPal error body (REST) or an OAuth error. */
export interface PaypalErrorBody {
  name?: string;
  message?: string;
  debug_id?: string;
  details?: { issue?: string; description?: string; field?: string; location?: string }[];
  error?: string;
  error_description?: string;
}

/** What the adapter gives the client. */
export interface PaypalClientDeps {
  http(): Promise<HttpClient>;
  record(entry: ChannelCallRecord): void;
  clock: Clock;
}

/** Refresh a token this long before PayPal says it expires. */
const TOKEN_MARGIN_MS = 60_000;

/** Maps a PayPal error answer onto a PayError (raw name/issue kept). Exported for tests. */
export function mapPaypalError(status: number, body: PaypalErrorBody | undefined, response: Pick<HttpResponse, 'headers'>, what: string): PayError {
  const issue = body?.details?.find((d) => d.issue)?.issue;
  const name = body?.name;
  const oauth = body?.error;
  const providerCode = issue ?? name ?? oauth ?? `HTTP_${status}`;
  const providerMessage = body?.details?.find((d) => d.description)?.description ?? body?.message ?? body?.error_description;
  const requestId = response.headers['paypal-debug-id'] ?? body?.debug_id;
  let code: ErrorCode;
  let hint: string | undefined;
  if (status === 401 || name === 'AUTHENTICATION_FAILURE' || oauth === 'invalid_client' || oauth === 'invalid_token') {
    code = 'AUTHENTICATION_FAILED';
    hint = 'Check channels.paypal.clientId and clientSecret (live and sandbox apps have different credentials).';
  } else if (status === 403 || name === 'NOT_AUTHORIZED' || name === 'PERMISSION_DENIED') {
    code = 'AUTHENTICATION_FAILED';
    hint = 'The REST app lacks permission for this call (enable the feature for the app in the PayPal developer dashboard).';
  } else if (status === 429 || name === 'RATE_LIMIT_REACHED' || issue === 'RATE_LIMIT_REACHED') {
    code = 'RATE_LIMITED';
    const after = response.headers['retry-after'];
    hint = `PayPal is rate-limiting this app${after ? `; retry after ${after} s` : ''}. Retrying with the same number is safe (same PayPal-Request-Id).`;
  } else if (status === 404 || name === 'RESOURCE_NOT_FOUND' || issue === 'INVALID_RESOURCE_ID') {
    code = 'ORDER_NOT_FOUND';
  } else if (issue === 'INSUFFICIENT_FUNDS' || name === 'INSUFFICIENT_FUNDS') {
    code = 'INSUFFICIENT_BALANCE';
  } else if (status >= 500) {
    code = 'SYSTEM_ERROR';
    hint = 'PayPal had a problem on its side; the outcome may be unknown. `pay query` resolves it, and a retry with the same number is safe.';
  } else if (status === 400 || status === 409 || status === 422) {
    code = 'INVALID_REQUEST';
    if (issue === 'DUPLICATE_INVOICE_ID') hint = 'PayPal already has a payment with this invoice id (our order number); use a new order number.';
  } else {
    code = 'CHANNEL_ERROR';
  }
  return new PayError(code, `PayPal refused ${what} (HTTP ${status}, ${providerCode})${providerMessage ? `: ${providerMessage}` : ''}`, {
    channel: 'paypal',
    providerCode,
    providerMessage,
    httpStatus: status,
    requestId,
    hint,
    details: { name, issue, issues: body?.details?.map((d) => d.issue).filter(Boolean) },
  });
}

/** The PayPal API client of one adapter (its token cache lives as long as the adapter). */
export class PaypalClient {
  private token?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;

  constructor(
    private readonly config: PaypalConfig,
    private readonly deps: PaypalClientDeps,
  ) {}

  /** Drops the cached token (after a 401 on a token that should still be good). */
  invalidateToken(): void {
    this.token = undefined;
  }

  /** A valid access token: the cached one, or a new one (one request however many callers wait). */
  async accessToken(): Promise<string> {
    const now = this.deps.clock();
    if (this.token && now < this.token.expiresAt - TOKEN_MARGIN_MS) return this.token.value;
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async fetchToken(): Promise<string> {
    const started = performance.now();
    const record: ChannelCallRecord = { operation: 'paypal.token', request: { method: 'POST', path: '/v1/oauth2/token', grantType: 'client_credentials' }, durationMs: 0 };
    const basic = Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`, 'utf8').toString('base64');
    let res: HttpResponse;
    try {
      const http = await this.deps.http();
      res = await http.request({
        method: 'POST',
        url: `${this.config.baseUrl}/v1/oauth2/token`,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: 'grant_type=client_credentials',
        // Asking for a token twice does no harm.
        idempotent: true,
        operation: 'paypal token',
        timeoutMs: this.config.timeoutMs,
      });
    } catch (err) {
      const e = isPayError(err) ? err : new PayError('CHANNEL_ERROR', `PayPal token request failed: ${(err as Error).message}`, { channel: 'paypal', cause: err });
      this.deps.record({ ...record, error: { code: e.code, message: e.message, providerCode: e.providerCode }, durationMs: performance.now() - started });
      throw e;
    }
    const json = parseJson(res.body);
    if (res.status !== 200 || !json || typeof (json as { access_token?: unknown }).access_token !== 'string') {
      const e =
        res.status === 200
          ? new PayError('CHANNEL_ERROR', `PayPal answered the token request with a malformed body (HTTP ${res.status}: ${excerpt(res.body)})`, { channel: 'paypal', httpStatus: res.status })
          : mapPaypalError(res.status, json as PaypalErrorBody | undefined, res, 'the OAuth2 token request');
      this.deps.record({ ...record, httpStatus: res.status, error: { code: e.code, message: e.message, providerCode: e.providerCode }, durationMs: performance.now() - started });
      throw e;
    }
    const t = json as { access_token: string; expires_in?: number; app_id?: string };
    const ttlMs = (typeof t.expires_in === 'number' && t.expires_in > 0 ? t.expires_in : 300) * 1000;
    this.token = { value: t.access_token, expiresAt: this.deps.clock() + ttlMs };
    this.deps.record({ ...record, httpStatus: res.status, response: { expiresIn: t.expires_in, appId: t.app_id }, durationMs: performance.now() - started });
    return t.access_token;
  }

  /** Sends a call; returns the parsed JSON of a 2xx answer (or {} for an empty one); throws a PayError otherwise. */
  async call<T = Record<string, unknown>>(call: PaypalCall): Promise<T> {
    let res = await this.send(call);
    if (res.status === 401) {
      // A token revoked or expired early: fetch a fresh one and try once more.
      this.invalidateToken();
      res = await this.send(call);
    }
    return this.answer<T>(call, res);
  }

  private async send(call: PaypalCall): Promise<HttpResponse & { started: number }> {
    const started = performance.now();
    const token = await this.accessToken();
    let url = `${this.config.baseUrl}${call.path}`;
    if (call.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(call.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    let body: string | undefined;
    if (call.method !== 'GET') {
      if (call.method === 'POST' && !call.requestId) throw new PayError('SYSTEM_ERROR', `internal: PayPal POST ${call.path} without a PayPal-Request-Id`);
      if (call.requestId) headers['paypal-request-id'] = call.requestId;
      headers['content-type'] = 'application/json';
      headers.prefer = 'return=representation';
      body = call.body === undefined ? '{}' : JSON.stringify(call.body);
    }
    try {
      const http = await this.deps.http();
      const res = await http.request({
        method: call.method,
        url,
        headers,
        body,
        // GETs are safe to repeat; POSTs carry a PayPal-Request-Id PayPal deduplicates on.
        idempotent: call.method === 'GET' || Boolean(call.requestId),
        operation: `paypal ${call.operation}`,
        orderNo: call.orderNo,
        refundNo: call.refundNo,
        timeoutMs: this.config.timeoutMs,
      });
      return { ...res, started };
    } catch (err) {
      const e = isPayError(err) ? err : new PayError('CHANNEL_ERROR', `PayPal ${call.method} ${call.path} failed: ${(err as Error).message}`, { channel: 'paypal', cause: err });
      this.deps.record({
        operation: `paypal.${call.operation}`,
        orderNo: call.orderNo,
        refundNo: call.refundNo,
        request: { method: call.method, path: call.path, requestId: call.requestId },
        error: { code: e.code, message: e.message, providerCode: e.providerCode },
        durationMs: performance.now() - started,
      });
      throw e;
    }
  }

  private answer<T>(call: PaypalCall, res: HttpResponse & { started: number }): T {
    const what = `${call.method} ${call.path}`;
    const record: ChannelCallRecord = {
      operation: `paypal.${call.operation}`,
      orderNo: call.orderNo,
      refundNo: call.refundNo,
      request: { method: call.method, path: call.path, requestId: call.requestId },
      httpStatus: res.status,
      requestId: res.headers['paypal-debug-id'],
      attempts: res.attempts,
      durationMs: performance.now() - res.started,
    };
    const json = parseJson(res.body);
    if (res.status >= 200 && res.status < 300) {
      if (res.body.length === 0) {
        this.deps.record({ ...record, response: {} });
        return {} as T;
      }
      if (!json || typeof json !== 'object') {
        const e = new PayError('CHANNEL_ERROR', `PayPal answered ${what} with a malformed body (HTTP ${res.status}, not JSON: ${excerpt(res.body)})`, {
          channel: 'paypal',
          httpStatus: res.status,
          requestId: res.headers['paypal-debug-id'],
          hint: 'The outcome is unknown: `pay query` resolves it, and a retry with the same number is safe.',
        });
        this.deps.record({ ...record, error: { code: e.code, message: e.message } });
        throw e;
      }
      const o = json as Record<string, unknown>;
      this.deps.record({ ...record, response: { id: o.id, status: o.status } });
      return json as T;
    }
    const e = mapPaypalError(res.status, json as PaypalErrorBody | undefined, res, what);
    this.deps.record({ ...record, error: { code: e.code, message: e.message, providerCode: e.providerCode } });
    throw e;
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The start of an answer, for error messages: control characters blanked, secrets removed. */
function excerpt(body: Buffer): string {
  const text = body.subarray(0, 400).toString('utf8').slice(0, 120);
  return JSON.stringify(redactText(text.replace(/[\u0000-\u001f]/g, ' ')) + (body.length > 120 ? '…' : ''));
}
