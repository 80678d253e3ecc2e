/**
 * The raw HTTP target over TLS (`pay loadtest --url https://...`; plain http goes over bare
 * sockets, socket-target.ts): one endpoint, for load-testing anything that speaks HTTPS.
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
import { generateId } from '../core/ids.js';
import { codeForNetworkError, codeForStatus, probe, statusDetails } from './http-codes.js';
import type { Done, Target } from './target.js';

export { codeForNetworkError, codeForStatus } from './http-codes.js';

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
    await probe(this, this.origin);
    this.statusCounts.clear();
    this.connects = Math.min(this.connects, 1);
  }

  details(): Record<string, unknown> {
    return { kind: 'http', httpStatuses: statusDetails(this.statusCounts), connections: this.all.length, connects: this.connects };
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((c) => c.destroy().catch(() => {})));
  }
}
