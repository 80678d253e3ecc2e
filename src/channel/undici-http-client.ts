/**
 * The shared HTTP client over undici (the {@link HttpClient} contract). One keep-alive pool per
 * origin; connect, headers and body timeouts; retries with exponential backoff and full jitter,
 * only for idempotent requests and only on a named set of failures; network failures classified
 * into standard codes; `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` honoured; every call reported
 * through `onCall` with secrets redacted.
 *
 * Retry policy (the named set): a connection reset or a socket closed before the response
 * (ECONNRESET, EPIPE, UND_ERR_SOCKET); HTTP 429, waiting for `Retry-After` (seconds or an HTTP
 * date) when it is given and not longer than `maxRetryAfterMs`; HTTP 502, 503, 504. Nothing else
 * is retried: a timeout leaves the outcome unknown, and a 4xx is the channel's answer. No attempt
 * or wait starts once the call's deadline has passed. When the retries run out the call rejects:
 * RATE_LIMITED after 429s, SYSTEM_ERROR after 5xx, CHANNEL_ERROR after resets. A request that is
 * not retried (not idempotent, or a status outside the set) resolves with whatever came back, so
 * the channel maps the provider's own error body.
 *
 * This module loads undici; import it lazily (the context does). Retry policy: http-retry.ts;
 * URL and body redaction for logs: http-log.ts; network failure classes: network-errors.ts.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { PayError } from '../core/errors.js';
import { redact, redactText } from '../core/redact.js';
import type { ChannelCallRecord } from './call-record.js';
import type { HttpClient, HttpClientOptions, HttpRequest, HttpResponse } from './http-client.js';
import { bodyExcerpt, safeUrl } from './http-log.js';
import { backoffDelay, parseRetryAfter, RETRY_NETWORK_CODES, RETRY_STATUSES } from './http-retry.js';
import { classifyNetworkError, errorCode, hostOf } from './network-errors.js';

export { bodyExcerpt, safeUrl } from './http-log.js';
export { backoffDelay, parseRetryAfter, RETRY_NETWORK_CODES, RETRY_STATUSES } from './http-retry.js';
export { classifyNetworkError, type NetworkFailureClass } from './network-errors.js';

/** Defaults of {@link HttpClientOptions}. */
export const HTTP_DEFAULTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 30_000,
  maxAttempts: 3,
  backoffMs: 200,
  connections: 64,
  deadlineMs: 60_000,
  maxRetryAfterMs: 30_000,
} as const;


/** A client that also exposes its undici dispatcher (load tests drive it directly). */
export interface UndiciHttpClient extends HttpClient {
  /** The undici dispatcher behind the client (an Agent, or an EnvHttpProxyAgent when a proxy is set). */
  readonly dispatcher: Dispatcher;
  /**
   * A view of this client whose errors and call records carry `channel`. Closing the view does
   * nothing: the pool belongs to the client.
   */
  forChannel(channel: string): HttpClient;
}

/** Creates the shared HTTP client. Cheap: connections open on first use. */
export function createHttpClient(options: HttpClientOptions = {}): UndiciHttpClient {
  return new Client(options);
}

const ORIGIN_RE = /^(https?:\/\/[^/?#]+)([^#]*)/i;

/** Splits an absolute URL into undici's origin and path. */
function splitUrl(url: string, operation: string): { origin: string; path: string } {
  const m = ORIGIN_RE.exec(url);
  if (!m) {
    throw new PayError('CONFIG_ERROR', `${operation}: "${redactText(url).slice(0, 80)}" is not an http(s) URL`, {
      hint: "Check the channel's base URL (gateway / baseUrl) in the config.",
    });
  }
  const path = m[2] || '/';
  return { origin: m[1], path: path.startsWith('/') ? path : `/${path}` };
}


/** What one attempt produced. */
interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * Collects one response through undici's low-level dispatch API: no stream objects per request,
 * which keeps the hot path within reach of a bare undici loop.
 */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: Record<string, string> = {};
  private chunks: Buffer[] = [];
  private file?: WriteStream;
  private fileError?: Error;
  private controller?: Dispatcher.DispatchController;
  private readonly onAbort?: () => void;

  constructor(
    private readonly resolve: (r: RawResponse) => void,
    private readonly reject: (e: unknown) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly saveTo: string | undefined,
  ) {
    if (signal) {
      this.onAbort = () => this.controller?.abort(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) this.onAbort!();
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx: the real answer follows
    this.status = statusCode;
    const out: Record<string, string> = {};
    for (const name in headers) {
      const v = headers[name];
      if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    this.headers = out;
    if (this.saveTo && statusCode >= 200 && statusCode < 300) {
      this.file = createWriteStream(this.saveTo);
      this.file.on('error', (err) => {
        this.fileError = err;
        controller.abort(err);
      });
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.file) {
      // Backpressure: a bill can be far larger than memory should hold.
      if (!this.file.write(chunk)) {
        controller.pause();
        this.file.once('drain', () => controller.resume());
      }
    } else this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.detach();
    const r: RawResponse = { status: this.status, headers: this.headers, body: this.chunks.length === 0 ? EMPTY : this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks) };
    if (this.file) {
      const file = this.file;
      file.end(() => (this.fileError ? this.reject(this.fileError) : this.resolve(r)));
    } else this.resolve(r);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.detach();
    this.file?.destroy();
    this.reject(this.fileError ?? error);
  }

  private detach(): void {
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
  }
}

/** How a finished attempt is judged. */
type Verdict = { retry: false } | { retry: true; waitMs?: number; tooLong?: boolean };

class Client implements UndiciHttpClient {
  readonly dispatcher: Dispatcher;
  private readonly o: Required<Omit<HttpClientOptions, 'env' | 'onCall'>>;
  private readonly onCall?: (record: ChannelCallRecord & { channel?: string }) => void;
  private readonly proxied: boolean;
  private closed = false;

  constructor(options: HttpClientOptions) {
    const pick = <K extends keyof typeof HTTP_DEFAULTS>(k: K): number => {
      const v = options[k];
      return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : HTTP_DEFAULTS[k];
    };
    this.o = {
      connectTimeoutMs: pick('connectTimeoutMs'),
      headersTimeoutMs: pick('headersTimeoutMs'),
      bodyTimeoutMs: pick('bodyTimeoutMs'),
      maxAttempts: Math.max(1, Math.floor(pick('maxAttempts'))),
      backoffMs: pick('backoffMs'),
      connections: Math.max(1, Math.floor(pick('connections'))),
      deadlineMs: pick('deadlineMs'),
      maxRetryAfterMs: pick('maxRetryAfterMs'),
    };
    this.onCall = options.onCall;
    const env = options.env ?? process.env;
    const agentOptions: Agent.Options = {
      connections: this.o.connections,
      connect: { timeout: this.o.connectTimeoutMs },
      headersTimeout: this.o.headersTimeoutMs,
      bodyTimeout: this.o.bodyTimeoutMs,
      keepAliveTimeout: 10_000,
    };
    // Proxy variables come from `env` only ('' stops undici falling back to process.env).
    const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? '';
    const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? '';
    this.proxied = Boolean(httpProxy || httpsProxy);
    this.dispatcher = this.proxied
      ? new EnvHttpProxyAgent({ ...agentOptions, httpProxy, httpsProxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? '' })
      : new Agent(agentOptions);
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    return this.send(req, undefined);
  }

  forChannel(channel: string): HttpClient {
    return { request: (req) => this.send(req, channel), close: async () => {} };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dispatcher.close();
  }

  private attempt(opts: Dispatcher.DispatchOptions, signal: AbortSignal | undefined, saveTo: string | undefined): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      this.dispatcher.dispatch(opts, new AttemptHandler(resolve, reject, signal, saveTo));
    });
  }

  /** Whether (and after how long) to try again, for an idempotent request. */
  private judge(res: RawResponse | undefined, err: unknown): Verdict {
    if (res) {
      if (!RETRY_STATUSES.has(res.status)) return { retry: false };
      if (res.status === 429) {
        const ra = parseRetryAfter(res.headers['retry-after']);
        if (ra !== undefined) return ra > this.o.maxRetryAfterMs ? { retry: true, waitMs: ra, tooLong: true } : { retry: true, waitMs: ra };
      }
      return { retry: true };
    }
    const code = errorCode(err);
    return { retry: code !== undefined && RETRY_NETWORK_CODES.has(code) };
  }

  private async send(req: HttpRequest, channel: string | undefined): Promise<HttpResponse> {
    const started = performance.now();
    const operation = req.operation;
    if (this.closed) throw new PayError('SYSTEM_ERROR', `${operation}: the HTTP client is closed`, { channel });
    const { origin, path } = splitUrl(req.url, operation);
    const deadline = started + (req.deadlineMs ?? this.o.deadlineMs);
    const maxAttempts = req.idempotent ? Math.max(1, req.maxAttempts ?? this.o.maxAttempts) : 1;
    const headersTimeout = req.timeoutMs ?? this.o.headersTimeoutMs;
    const bodyTimeout = req.timeoutMs ?? this.o.bodyTimeoutMs;
    const opts: Dispatcher.DispatchOptions = {
      origin,
      path,
      method: req.method,
      headers: req.headers,
      body: req.body,
      headersTimeout,
      bodyTimeout,
    };
    let attempts = 0;
    let res: RawResponse | undefined;
    let failure: unknown;
    let retryAfterMs: number | undefined;
    for (;;) {
      attempts++;
      res = undefined;
      failure = undefined;
      const remaining = deadline - performance.now();
      opts.headersTimeout = Math.max(1, Math.min(headersTimeout, Math.ceil(remaining)));
      try {
        res = await this.attempt(opts, req.signal, req.saveTo);
      } catch (err) {
        failure = err;
      }
      if (attempts >= maxAttempts || req.signal?.aborted) break;
      const v = this.judge(res, failure);
      if (!v.retry) break;
      retryAfterMs = v.waitMs;
      if (v.tooLong) break;
      const wait = v.waitMs ?? backoffDelay(attempts, this.o.backoffMs);
      // Never start a wait, or an attempt, that ends past the deadline.
      if (performance.now() + wait >= deadline) break;
      if (wait > 0) {
        try {
          await sleep(wait, undefined, req.signal ? { signal: req.signal } : undefined);
        } catch (err) {
          failure = err;
          res = undefined;
          break;
        }
      }
    }
    const durationMs = performance.now() - started;
    if (res) {
      // Retries were allowed and the last answer is still one of the retried statuses: they ran out
      // (attempts, deadline, or a Retry-After too long to wait for).
      if (maxAttempts > 1 && RETRY_STATUSES.has(res.status)) {
        const error = this.exhausted(res, { operation, origin, attempts, channel, retryAfterMs });
        this.report(req, channel, origin, path, res, error, attempts, durationMs);
        throw error;
      }
      this.report(req, channel, origin, path, res, undefined, attempts, durationMs);
      return { status: res.status, headers: res.headers, body: res.body, durationMs, attempts };
    }
    const error = classifyNetworkError(failure, {
      operation,
      method: req.method,
      origin,
      attempts,
      channel,
      headersTimeoutMs: opts.headersTimeout ?? headersTimeout,
      bodyTimeoutMs: bodyTimeout,
      connectTimeoutMs: this.o.connectTimeoutMs,
      proxied: this.proxied,
    });
    this.report(req, channel, origin, path, undefined, error, attempts, durationMs);
    throw error;
  }

  /** The error for retries that ran out on 429 or 5xx. */
  private exhausted(res: RawResponse, c: { operation: string; origin: string; attempts: number; channel?: string; retryAfterMs?: number }): PayError {
    const host = hostOf(c.origin);
    const requestId = requestIdOf(res.headers);
    const details: Record<string, unknown> = { status: res.status, attempts: c.attempts, host };
    if (res.body.length) details.bodyExcerpt = bodyExcerpt(res.body);
    if (res.status === 429) {
      if (c.retryAfterMs !== undefined) details.retryAfterMs = c.retryAfterMs;
      const longWait = c.retryAfterMs !== undefined && c.retryAfterMs > this.o.maxRetryAfterMs;
      return new PayError('RATE_LIMITED', `${c.operation}: ${host} is rate limiting (HTTP 429${longWait ? `, asked to wait ${Math.ceil(c.retryAfterMs! / 1000)} s` : ''}) after ${c.attempts} attempt${c.attempts === 1 ? '' : 's'}`, {
        channel: c.channel,
        httpStatus: 429,
        requestId,
        details,
        hint: `Slow down and retry${c.retryAfterMs !== undefined ? ` after ${Math.ceil(c.retryAfterMs / 1000)} s` : ' later'}; the same order number is safe to reuse.`,
      });
    }
    return new PayError('SYSTEM_ERROR', `${c.operation}: ${host} answered HTTP ${res.status} ${c.attempts} times`, {
      channel: c.channel,
      httpStatus: res.status,
      requestId,
      details,
      hint: 'The channel is having trouble; retry later with the same number.',
    });
  }

  private report(req: HttpRequest, channel: string | undefined, origin: string, path: string, res: RawResponse | undefined, error: PayError | undefined, attempts: number, durationMs: number): void {
    if (!this.onCall) return;
    const record: ChannelCallRecord & { channel?: string } = {
      operation: req.operation,
      request: { method: req.method, url: safeUrl(origin + path) },
      durationMs: Math.round(durationMs * 100) / 100,
      attempts,
    };
    if (channel) record.channel = channel;
    if (req.orderNo) record.orderNo = req.orderNo;
    if (req.refundNo) record.refundNo = req.refundNo;
    if (res) {
      record.httpStatus = res.status;
      record.response = { status: res.status, bytes: req.saveTo && res.status < 300 ? undefined : res.body.length };
      const id = requestIdOf(res.headers);
      if (id) record.requestId = id;
    }
    if (error) {
      record.error = { code: error.code, message: error.message };
      if (error.httpStatus !== undefined) record.httpStatus = error.httpStatus;
    }
    try {
      this.onCall(redact(record));
    } catch {
      /* a failing recorder must not fail the payment call */
    }
  }
}

/** The provider's request id from the usual headers (Stripe, WeChat Pay, PayPal, generic). */
function requestIdOf(h: Record<string, string>): string | undefined {
  return h['request-id'] ?? h['paypal-debug-id'] ?? h['x-request-id'] ?? h['x-amzn-requestid'] ?? undefined;
}

