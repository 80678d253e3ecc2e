/**
 * A local HTTP server with controlled service time, for load-test tests: a fixed latency per
 * request, an optional status, and an optional stall that freezes the whole server (every answer,
 * including those already due) for `stallMs` every `stallEvery` requests, as a GC pause or a
 * failover would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Options of {@link startLatencyServer}. */
export interface LatencyServerOptions {
  /** Service time of every request, ms (default 0). */
  latencyMs?: number;
  /** Status of every answer (default 200). */
  status?: number;
  /** Freeze the server every this many requests (counted on arrival). */
  stallEvery?: number;
  /** How long a freeze lasts, ms (default 1000). */
  stallMs?: number;
  /** Sees every request (method, target, body) once its body has arrived. */
  onRequest?: (method: string, url: string, body: string) => void;
}

/** A running server. */
export interface LatencyServer {
  url: string;
  port: number;
  /** Requests received so far. */
  readonly requests: number;
  /** Freezes that happened so far. */
  readonly stalls: number;
  close(): Promise<void>;
}

const BODY = Buffer.from('{"ok":true}');

/** Starts the server on 127.0.0.1, port 0. */
export async function startLatencyServer(options: LatencyServerOptions = {}): Promise<LatencyServer> {
  const latency = options.latencyMs ?? 0;
  const status = options.status ?? 200;
  const stallMs = options.stallMs ?? 1000;
  let requests = 0;
  let stalls = 0;
  let stalledUntil = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const now = performance.now();
    if (options.stallEvery && requests % options.stallEvery === 0 && now >= stalledUntil) {
      stalledUntil = now + stallMs;
      stalls++;
    }
    if (options.onRequest) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => options.onRequest!(req.method ?? '', req.url ?? '', Buffer.concat(chunks).toString('utf8')));
    } else req.resume();
    const send = () => {
      // A frozen server answers nothing, whenever the answer was due.
      const wait = stalledUntil - performance.now();
      if (wait > 0) {
        setTimeout(send, wait);
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    };
    if (latency > 0) setTimeout(send, latency);
    else send();
  });
  // Keep-alive longer than any test run, so connection churn never enters the numbers.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    get requests() {
      return requests;
    },
    get stalls() {
      return stalls;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
