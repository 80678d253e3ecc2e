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
 * This module loads undici; import it lazily (the context does).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { PayError } from '../core/errors.js';
import { MASK, redact, redactText, SECRET_FIELD } from '../core/redact.js';
import type { ChannelCallRecord } from './contract.js';
import type { HttpClient, HttpClientOptions, HttpRequest, HttpResponse } from './http-client.js';

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

/** Statuses retried for idempotent requests. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Network error codes retried for idempotent requests: the connection died before an answer. */
export const RETRY_NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** Classes of network failure, as they appear in `details.class` of the error. */
export type NetworkFailureClass = 'timeout' | 'dns' | 'refused' | 'reset' | 'unreachable' | 'tls' | 'proxy' | 'aborted' | 'network';

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

/** `Retry-After` as a wait in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full-jitter exponential backoff: a uniform wait in [0, base * 2^(attempt-1)). */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Query parameters whose values never reach a record (signatures are not secret, but noisy). */
const URL_SECRET_PARAM = /^(sign|signature|sig|key|token)$/i;

/** The URL for logs: query values of secret-looking parameters masked, registered secrets removed. */
export function safeUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactText(url);
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      /* keep the raw name */
    }
    return SECRET_FIELD.test(name) || URL_SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=${encodeURIComponent(MASK)}` : pair;
  });
  return redactText(`${url.slice(0, q)}?${parts.join('&')}`);
}

/** The first `max` characters of a body, for error messages (redacted, control characters shown as spaces). */
export function bodyExcerpt(body: Buffer | string, max = 200): string {
  const text = (typeof body === 'string' ? body : body.subarray(0, max * 4).toString('utf8')).slice(0, max);
  return redactText(text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ')) + ((typeof body === 'string' ? body.length : body.length) > max ? '…' : '');
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

function hostOf(origin: string): string {
  return origin.replace(/^https?:\/\//i, '');
}

/** The error code of a network failure, looking through causes and aggregate errors. */
function errorCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown; errors?: unknown[]; name?: string } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    // undici wraps the socket's error: prefer the innermost specific code (ECONNRESET over UND_ERR_SOCKET).
    const inner = (e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e;
    const innerCode = inner ? errorCode(inner) : undefined;
    if (innerCode && innerCode !== 'UND_ERR_SOCKET') return innerCode;
    if (typeof e.code === 'string') return e.code;
    if (e.name === 'AbortError') return 'ABORT_ERR';
    e = inner;
  }
  return undefined;
}

interface FailureContext {
  operation: string;
  method: string;
  origin: string;
  attempts: number;
  channel?: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connectTimeoutMs: number;
  proxied: boolean;
}

/** Maps a network failure onto a standard PayError whose message says what to check. */
export function classifyNetworkError(err: unknown, c: FailureContext): PayError {
  if (err instanceof PayError) return err;
  const code = errorCode(err) ?? 'UNKNOWN';
  const host = hostOf(c.origin);
  const what = `${c.operation} (${c.method} ${host})`;
  const base = { channel: c.channel, cause: err };
  const details = (cls: NetworkFailureClass, extra: Record<string, unknown> = {}) => ({ class: cls, errorCode: code, host, attempts: c.attempts, ...extra });
  const unknownOutcome = c.method === 'GET' ? '' : ' The outcome is unknown: query before retrying, and retry with the same number.';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new PayError('TIMEOUT', `${what}: could not connect within ${c.connectTimeoutMs} ms`, {
        ...base,
        details: details('timeout', { phase: 'connect' }),
        hint: `Check that ${host} is reachable from here (firewall, VPN${c.proxied ? ', the proxy in HTTPS_PROXY/HTTP_PROXY' : ''}).`,
      });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new PayError('TIMEOUT', `${what}: no response within ${c.headersTimeoutMs} ms`, {
        ...base,
        details: details('timeout', { phase: 'headers' }),
        hint: `The channel is slow or the request hung.${unknownOutcome}`,
      });
    case 'UND_ERR_BODY_TIMEOUT':
      return new PayError('TIMEOUT', `${what}: the response body stalled for ${c.bodyTimeoutMs} ms`, {
        ...base,
        details: details('timeout', { phase: 'body' }),
        hint: `The channel answered but stopped sending.${unknownOutcome}`,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return new PayError('CHANNEL_ERROR', `${what}: cannot resolve host ${host.replace(/:\d+$/, '')} (${code})`, {
        ...base,
        details: details('dns'),
        hint: "Check the host name in the channel's base URL and this machine's DNS / network connection.",
      });
    case 'ECONNREFUSED':
      return new PayError('CHANNEL_ERROR', `${what}: connection refused by ${host}`, {
        ...base,
        details: details('refused'),
        hint: `Nothing is listening there: check the port in the channel's base URL${/127\.0\.0\.1|localhost|\[::1\]/.test(host) ? ', and that `pay sandbox` is running' : ''}.`,
      });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new PayError('CHANNEL_ERROR', `${what}: the connection was closed before a response (${code})`, {
        ...base,
        details: details('reset'),
        hint: `The channel or something between (proxy, load balancer) dropped the connection.${unknownOutcome}`,
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return new PayError('CHANNEL_ERROR', `${what}: ${host} is unreachable (${code})`, {
        ...base,
        details: details('unreachable'),
        hint: 'Check the network connection, VPN and routes to the channel.',
      });
    case 'ABORT_ERR':
    case 'UND_ERR_ABORTED':
      return new PayError('CHANNEL_ERROR', `${what}: the request was aborted`, { ...base, details: details('aborted') });
    default:
      if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        return new PayError('CHANNEL_ERROR', `${what}: TLS failure (${code})`, {
          ...base,
          details: details('tls'),
          hint: 'Check the URL (http vs https), the system clock and any TLS-intercepting proxy (NODE_EXTRA_CA_CERTS).',
        });
      }
      if (c.proxied && /proxy/i.test((err as Error)?.message ?? '')) {
        return new PayError('CHANNEL_ERROR', `${what}: the proxy refused or failed the request (${redactText((err as Error).message).slice(0, 120)})`, {
          ...base,
          details: details('proxy'),
          hint: 'Check HTTPS_PROXY / HTTP_PROXY (and NO_PROXY for hosts that must not go through it).',
        });
      }
      return new PayError('CHANNEL_ERROR', `${what}: network error (${code}): ${redactText((err as Error)?.message ?? String(err)).slice(0, 160)}`, {
        ...base,
        details: details('network'),
        hint: `Check the network connection and the channel's base URL.${unknownOutcome}`,
      });
  }
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
