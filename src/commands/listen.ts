/**
 * `pay listen --port <n>`: a small local receiver for real or sandbox callbacks. For each request
 * it saves the raw bytes in the raw-HTTP file format (`--save-dir`; exactly what `pay verify`
 * reads back), verifies it, applies it to the order book (unless `--no-apply`), answers the
 * channel what it expects (the verdict's reply: the channel's success reply for a valid callback,
 * its failure reply otherwise), then forwards it unchanged to the developer's app
 * (`--forward-to`), retrying on network errors, 408, 429 and 5xx with exponential backoff
 * (at most {@link FORWARD_ATTEMPTS} attempts). One line per callback on stdout (`--json`: NDJSON).
 * Runs until SIGINT or SIGTERM.
 *
 * Every request is forwarded, valid or not: the app under development verifies on its own, and
 * seeing what it does with a bad signature is part of testing it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitError, invalid, isPayError, PayError } from '../core/errors.js';
import { readBody } from '../core/read-body.js';
import { redactText } from '../core/redact.js';
import type { RawRequest } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import type { ApplyResult } from '../verify/apply.js';
import type { VerifyOutcome } from '../verify/dispatch.js';
import type { VerifyRow } from '../verify/report.js';
import type { Context } from './context.js';
import { required } from './prompt.js';

/** Forwarding attempts per callback (the first plus retries). */
export const FORWARD_ATTEMPTS = 5;
/** Base backoff between forwarding attempts, ms (doubled each time, with jitter). */
export const FORWARD_BACKOFF_MS = 250;
/** Largest body accepted; callbacks are small, anything bigger is not one. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const FORWARD_TIMEOUT_MS = 10_000;

export interface ListenOptions {
  port?: string;
  host?: string;
  forwardTo?: string;
  saveDir?: string;
  channel?: string;
  /** Commander's `--no-apply` sets this to false. */
  apply?: boolean;
  tolerance?: string;
  /** Resolves when the receiver should stop (tests); the CLI stops on SIGINT/SIGTERM. */
  until?: Promise<unknown>;
  /** Called once the server listens (tests). */
  onListening?: (url: string) => void;
}

/** How a forward went. */
export interface ForwardResult {
  /** The app's HTTP status of the last attempt, when it answered. */
  status?: number;
  attempts: number;
  ok: boolean;
  error?: string;
}

/** One received callback. */
export interface ListenRecord {
  seq: number;
  receivedAt: string;
  method: string;
  target: string;
  saved?: string;
  row: VerifyRow;
  replyStatus: number;
  forward?: ForwardResult;
}

export interface ListenResult {
  url: string;
  records: ListenRecord[];
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Sends the request on unchanged: method, headers (names, case and order as received, minus
 * hop-by-hop ones; Host and Content-Length set for the new hop), body bytes. Path: the
 * `--forward-to` URL's when it has one beyond `/`, else the original request's.
 */
export async function forward(
  to: URL,
  request: { method: string; target: string; rawHeaders: string[]; body: Buffer },
  options: { attempts?: number; backoffMs?: number; timeoutMs?: number } = {},
): Promise<ForwardResult> {
  const attempts = options.attempts ?? FORWARD_ATTEMPTS;
  const backoff = options.backoffMs ?? FORWARD_BACKOFF_MS;
  const lib = to.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const path = to.pathname !== '/' || to.search ? `${to.pathname}${to.search}` : request.target;
  const headers: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(request.rawHeaders[i].toLowerCase())) headers.push(request.rawHeaders[i], request.rawHeaders[i + 1]);
  }
  headers.push('Host', to.host);
  if (request.body.length > 0 || !['GET', 'HEAD'].includes(request.method)) headers.push('Content-Length', String(request.body.length));
  let last: ForwardResult = { attempts: 0, ok: false };
  for (let n = 1; n <= attempts; n++) {
    try {
      const status = await new Promise<number>((resolvePromise, reject) => {
        const req = lib.request(
          { protocol: to.protocol, hostname: to.hostname, port: to.port || undefined, method: request.method, path, headers, timeout: options.timeoutMs ?? FORWARD_TIMEOUT_MS },
          (res) => {
            res.resume();
            res.on('end', () => resolvePromise(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? FORWARD_TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end(request.body);
      });
      last = { status, attempts: n, ok: status >= 200 && status < 300 };
      if (!retryable(status)) return last;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      last = { attempts: n, ok: false, error: e.code ?? e.message };
    }
    if (n < attempts) {
      // Exponential backoff with jitter, so a restarting app is not hit in lockstep.
      const base = backoff * 2 ** (n - 1);
      await sleep(base / 2 + Math.random() * (base / 2));
    }
  }
  return last;
}

function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** Parses `--port`: 0 (any free port) to 65535. */
export function parsePort(text: string): number {
  const t = String(text).trim();
  if (!/^\d{1,5}$/.test(t) || Number(t) > 65535) throw invalid(`--port "${t.slice(0, 20)}" is not a port number (0-65535)`);
  return Number(t);
}

/** Runs the receiver until `opts.until` resolves or the process gets SIGINT/SIGTERM. */
export async function listen(opts: ListenOptions, ctx: Context): Promise<ListenResult> {
  const port = parsePort(await required(ctx, opts.port, { flag: '--port', message: 'Port to listen on (0 picks a free one):', default: '4242' }));
  const host = opts.host ?? '127.0.0.1';
  let forwardTo: URL | undefined;
  if (opts.forwardTo) {
    try {
      forwardTo = new URL(opts.forwardTo);
    } catch {
      throw invalid(`--forward-to "${opts.forwardTo.slice(0, 60)}" is not a URL`, { hint: 'E.g. --forward-to http://127.0.0.1:3000/webhooks' });
    }
    if (forwardTo.protocol !== 'http:' && forwardTo.protocol !== 'https:') throw invalid('--forward-to must be an http:// or https:// URL');
  }
  const saveDir = opts.saveDir ? resolve(ctx.cwd, opts.saveDir) : undefined;
  if (saveDir) {
    try {
      await mkdir(saveDir, { recursive: true });
    } catch (err) {
      throw invalid(`cannot create --save-dir ${saveDir} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  const { parseTolerance } = await import('./verify.js');
  const toleranceSec = parseTolerance(opts.tolerance);
  const [{ CallbackDispatcher }, { formatRawHttp, parseRequestFile }, report, http] = await Promise.all([
    import('../verify/dispatch.js'),
    import('../verify/request-file.js'),
    import('../verify/report.js'),
    import('node:http'),
  ]);
  const dispatcher = new CallbackDispatcher(
    { config: ctx.config(), profile: ctx.profile, env: ctx.env, cwd: ctx.cwd, debug: ctx.debug },
    { channel: opts.channel, toleranceSec },
  );
  await dispatcher.init();
  const applyOn = opts.apply !== false;
  const store = applyOn ? await ctx.store() : undefined;
  const { applyCallback } = await import('../verify/apply.js');

  const records: ListenRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  let seq = 0;
  const out = (line: string) => ctx.stdout.write(`${redactText(line)}\n`);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const n = ++seq;
    const now = ctx.clock();
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: MAX_BODY_BYTES, tooLarge: (max) => new PayError('INVALID_REQUEST', `body larger than ${max} bytes`) });
    } catch (err) {
      res.writeHead(413, { 'content-type': 'text/plain' }).end(`pay listen: ${(err as Error).message}\n`);
      return;
    }
    const raw = formatRawHttp({ method, target, httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, body });
    let saved: string | undefined;
    if (saveDir) {
      saved = join(saveDir, `${fileStamp(now)}-${String(n).padStart(4, '0')}-${process.pid}.http`);
      try {
        await writeFile(saved, raw, { flag: 'wx' });
      } catch (err) {
        ctx.stderr.write(`pay listen: could not save ${saved} (${(err as NodeJS.ErrnoException).code})\n`);
        saved = undefined;
      }
    }
    const source = saved ?? `request #${n}`;
    // Reading back the bytes we save means listen sees exactly what a later `pay verify` will.
    let outcome: VerifyOutcome;
    let request: RawRequest | undefined;
    try {
      const parsed = parseRequestFile(raw, { source });
      const e = parsed.entries[0];
      if (e.error) throw e.error;
      request = e.request;
      outcome = await dispatcher.verify(request, now);
    } catch (err) {
      outcome = { class: 'error', error: isPayError(err) ? err : new PayError('SYSTEM_ERROR', (err as Error).message) };
    }
    let apply: ApplyResult | undefined;
    if (store && request && outcome.class === 'valid' && outcome.verdict) {
      try {
        apply = await applyCallback(store, outcome.verdict, request);
      } catch (err) {
        ctx.stderr.write(`pay listen: could not apply ${source}: ${redactText((err as Error).message)}\n`);
      }
    }
    const reply = outcome.verdict?.reply ?? {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `pay listen: ${outcome.error?.message ?? 'cannot verify this request'}\n`,
    };
    res.writeHead(reply.status, reply.headers).end(reply.body);

    const record: ListenRecord = {
      seq: n,
      receivedAt: new Date(now).toISOString(),
      method,
      target,
      ...(saved ? { saved } : {}),
      row: { file: saved, outcome, request, ...(apply ? { apply } : {}) },
      replyStatus: reply.status,
    };
    if (forwardTo) record.forward = await forward(forwardTo, { method, target, rawHeaders: req.rawHeaders, body });
    records.push(record);
    if (ctx.json) {
      out(
        JSON.stringify({
          type: 'callback',
          seq: n,
          receivedAt: record.receivedAt,
          method,
          target,
          ...(saved ? { saved } : {}),
          ...report.rowJson(record.row),
          replyStatus: reply.status,
          ...(record.forward ? { forward: record.forward } : {}),
        }),
      );
    } else if (!ctx.quiet) {
      const ev = outcome.verdict?.event;
      const cols = [
        record.receivedAt.slice(11, 19),
        outcome.class.padEnd(7),
        outcome.channel ?? '-',
        ev?.type ?? '',
        ev?.orderNo ?? ev?.refundNo ?? '',
        report.amountText(record.row),
        ev?.status ?? '',
        `-> ${reply.status}`,
        outcome.class === 'valid' ? '' : report.reasonText(record.row),
        apply ? `[${apply.outcome}: ${apply.message}]` : '',
        record.forward ? `forwarded: ${record.forward.status ?? record.forward.error} (${record.forward.attempts} attempt${record.forward.attempts === 1 ? '' : 's'})` : '',
        saved ? `saved ${saved}` : '',
      ];
      out(cols.filter((c) => c !== '').join('  '));
    }
  };

  const server: Server = http.createServer((req, res) => {
    const p = handle(req, res).catch((err) => {
      ctx.stderr.write(`pay listen: ${redactText((err as Error).message)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        invalid(`cannot listen on ${host}:${port} (${err.code ?? err.message})`, {
          hint: err.code === 'EADDRINUSE' ? 'Another program uses that port: pick another with --port (0 picks a free one).' : undefined,
        }),
      );
    });
    server.listen(port, host, () => resolvePromise());
  });
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  if (ctx.json) out(JSON.stringify({ type: 'listening', url, channel: opts.channel ?? 'auto', apply: applyOn, forwardTo: forwardTo?.href, saveDir }));
  else if (!ctx.quiet) {
    out(
      `Listening on ${url} (channel: ${opts.channel ?? 'detected per request'}; apply: ${applyOn ? 'on' : 'off'}${forwardTo ? `; forwarding to ${forwardTo.href}` : ''}${saveDir ? `; saving to ${saveDir}` : ''}). Ctrl-C stops.`,
    );
  }
  opts.onListening?.(url);

  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  let onSignal: (() => void) | undefined;
  await new Promise<void>((resolvePromise) => {
    onSignal = () => resolvePromise();
    for (const s of signals) process.once(s, onSignal);
    opts.until?.then(() => resolvePromise(), () => resolvePromise());
  });
  for (const s of signals) process.removeListener(s, onSignal!);
  const closed = new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  server.closeIdleConnections();
  // Let callbacks already being handled finish (forwarding retries are bounded).
  await Promise.race([Promise.allSettled([...inFlight]), sleep(30_000, undefined, { ref: false })]);
  server.closeAllConnections();
  await closed;
  return { url, records };
}

/** Output when the receiver stops. With --json the NDJSON stream ends with a summary line. */
export async function presentListen(r: ListenResult, ctx: Context): Promise<Presentation> {
  const count = (c: string) => r.records.filter((x) => x.row.outcome.class === c).length;
  const summary = { received: r.records.length, valid: count('valid'), invalid: count('invalid'), errors: count('error') };
  if (ctx.json) {
    ctx.stdout.write(`${JSON.stringify({ type: 'stopped', ...summary })}\n`);
    // The stream is already on stdout; a final JSON document would break NDJSON readers.
    throw new ExitError(0);
  }
  return {
    json: summary,
    blocks: [{ kind: 'text', text: `Stopped: ${summary.received} callbacks (${summary.valid} valid, ${summary.invalid} invalid, ${summary.errors} not judged).`, tone: 'dim' }],
  };
}
