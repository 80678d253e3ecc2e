/**
 * The raw HTTP target (`pay loadtest --url`): one endpoint, for calibrating the generator against
 * other tools and for load-testing anything that speaks HTTP.
 *
 * The hot path is undici's lowest level: one keep-alive `Client` (one connection, no pipelining)
 * per request in flight, taken from a free list, and `dispatch` with a reusable handler object
 * whose legacy callbacks receive raw header buffers (nothing is parsed that is not used). The
 * request options are built once; a body or path holding `{{orderNo}}` gets a fresh merchant
 * order number per request. The convenience `undici.request` API costs a promise, a body stream
 * and parsed headers per call and reaches about half the throughput here.
 */
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import { PayError } from '../core/errors.js';
import { generateId } from '../core/ids.js';
import type { Done, SendError, Target } from './target.js';

/** Options of the raw HTTP target. */
export interface HttpTargetOptions {
  url: URL;
  method: string;
  /** `name: value` pairs. */
  headers: [string, string][];
  body?: string;
  /** Per-request timeout (connect, headers and body), ms. */
  timeoutMs: number;
}

const PLACEHOLDER = '{{orderNo}}';

/** Maps an HTTP status that is not a success onto a standard code. */
export function codeForStatus(status: number): string | undefined {
  if (status < 400) return undefined;
  if (status === 401 || status === 403) return 'AUTHENTICATION_FAILED';
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'SYSTEM_ERROR';
  return 'INVALID_REQUEST';
}

/** Maps a network failure (undici or socket error) onto a standard code. */
export function codeForNetworkError(err: unknown): SendError {
  const e = err as { code?: string; message?: string; name?: string };
  const code = e?.code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return { code: 'TIMEOUT', message: `${code}: ${e.message ?? 'timed out'}` };
  }
  return { code: 'CHANNEL_ERROR', message: `${code || e?.name || 'Error'}: ${e?.message ?? String(err)}` };
}

/** One request in flight: the handler undici calls back. Pooled and reused. */
class Exchange implements Dispatcher.DispatchHandler {
  client!: Client;
  done!: Done;
  status = 0;

  constructor(private readonly target: HttpTarget) {}

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    // The body is read and dropped: a load test needs its arrival, not its content.
    return true;
  }

  onComplete(): void {
    const { done, status } = this;
    this.target.release(this);
    const code = codeForStatus(status);
    done(code === undefined ? undefined : { code, message: `HTTP ${status}`, httpStatus: status });
  }

  onError(err: Error): void {
    const done = this.done;
    this.target.release(this);
    done(codeForNetworkError(err));
  }
}

/** The raw HTTP target. */
export class HttpTarget implements Target {
  readonly inProcess = false;
  readonly description: string;
  private readonly origin: string;
  private readonly template: Dispatcher.DispatchOptions;
  private readonly perRequest: boolean;
  private readonly free: Client[] = [];
  private readonly all: Client[] = [];
  private readonly exchanges: Exchange[] = [];
  private readonly statusCounts = new Map<number, number>();
  private connects = 0;

  constructor(private readonly options: HttpTargetOptions) {
    const { url } = options;
    this.origin = url.origin;
    const path = `${url.pathname}${url.search}`;
    this.description = `${options.method} ${url.origin}${url.pathname}`;
    const headers: string[] = [];
    for (const [k, v] of options.headers) headers.push(k, v);
    this.template = {
      path,
      method: options.method as Dispatcher.HttpMethod,
      headers,
      body: options.body ?? null,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      // Not retried by undici: a load test counts failures, it does not hide them.
      idempotent: false,
      blocking: false,
    };
    this.perRequest = path.includes(encodeURI(PLACEHOLDER)) || path.includes(PLACEHOLDER) || Boolean(options.body?.includes(PLACEHOLDER));
  }

  private client(): Client {
    const c = this.free.pop();
    if (c) return c;
    const client = new Client(this.origin, {
      pipelining: 1,
      connectTimeout: Math.min(this.options.timeoutMs, 10_000),
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
    });
    client.on('connect', () => {
      this.connects++;
    });
    this.all.push(client);
    return client;
  }

  /** Options for the next request (shared unless it carries a fresh order number). */
  private options_(): Dispatcher.DispatchOptions {
    if (!this.perRequest) return this.template;
    const orderNo = generateId('payment');
    const t = this.template;
    return {
      ...t,
      path: t.path.split(encodeURI(PLACEHOLDER)).join(orderNo).split(PLACEHOLDER).join(orderNo),
      body: typeof t.body === 'string' ? t.body.split(PLACEHOLDER).join(orderNo) : t.body,
    };
  }

  send(done: Done): void {
    const ex = this.exchanges.pop() ?? new Exchange(this);
    ex.client = this.client();
    ex.done = done;
    ex.status = 0;
    ex.client.dispatch(this.options_(), ex);
  }

  /** Returns an exchange and its connection to the free lists (called before `done`). */
  release(ex: Exchange): void {
    if (ex.status) this.statusCounts.set(ex.status, (this.statusCounts.get(ex.status) ?? 0) + 1);
    this.free.push(ex.client);
    this.exchanges.push(ex);
  }

  async prepare(): Promise<void> {
    // One request before the clock starts: an unreachable endpoint is a clear error (exit 3),
    // not a run full of failures.
    const error = await new Promise<SendError | undefined>((resolve) => this.send(resolve));
    if (error && error.httpStatus === undefined) {
      throw new PayError(error.code === 'TIMEOUT' ? 'TIMEOUT' : 'CHANNEL_ERROR', `cannot reach ${this.origin}: ${error.message}`, {
        hint: 'Check that the server is running and the URL (host, port, http/https) is right.',
      });
    }
    this.statusCounts.clear();
    this.connects = Math.min(this.connects, 1);
  }

  details(): Record<string, unknown> {
    const statuses: Record<string, number> = {};
    for (const [s, n] of [...this.statusCounts].sort((a, b) => a[0] - b[0])) statuses[String(s)] = n;
    return { kind: 'http', httpStatuses: statuses, connections: this.all.length, connects: this.connects };
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((c) => c.destroy().catch(() => {})));
  }
}
