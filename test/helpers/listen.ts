/**
 * Driving `pay listen` in end-to-end tests: a local app it forwards to, the running listener
 * with its NDJSON lines, and POSTing a callback's exact bytes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { RawRequest } from '../../src/channel/contract.js';
import { BIN, cleanEnv } from './cli.js';

export interface AppRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** The developer's app: records what it gets, answers 503 to the first request. */
export function startApp(): Promise<{ server: Server; url: string; got: AppRequest[] }> {
  const got: AppRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
      res.writeHead(got.length === 1 ? 503 : 200).end('app');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, got })));
}

/** A running `pay listen` with its NDJSON lines. */
export class Listener {
  readonly lines: Record<string, unknown>[] = [];
  private buffer = '';
  private waiters: (() => void)[] = [];
  stderr = '';
  readonly exited: Promise<number>;
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  }
  async line(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching line; got ${JSON.stringify(this.lines)}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
}

/** Starts `pay listen --port 0 --json <args>` in `cwd` with `env`. */
export function startListen(args: string[], cwd: string, env: Record<string, string>): Listener {
  const child = spawn(process.execPath, [BIN, 'listen', '--port', '0', '--json', ...args], { cwd, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  return new Listener(child);
}

/** POSTs a request's exact bytes; resolves with the reply. */
export function post(url: string, r: RawRequest): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(r.target ?? '/', url);
    const req = httpRequest(u, { method: 'POST', headers: { ...r.headers, 'content-length': String(r.body.length) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

