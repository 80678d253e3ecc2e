/**
 * The sandbox framework: serves provider simulators (`channels/<id>/sandbox/index.ts`) on loopback, one
 * node:http listener per channel so each keeps the provider's real root paths. The framework owns
 * the listener, fault injection around `handle()`, the control API under `/__sandbox/`, and
 * notification delivery with retries; simulators own the provider's behaviour.
 *
 * Control API (on every listener):
 *   GET    /__sandbox/health         {ok, channel, baseUrl, time}
 *   POST   /__sandbox/pay            {orderNo, outcome?: "succeeded"|"failed"}: the payer pays
 *   POST   /__sandbox/faults         a FaultSpec (see faults.ts) -> {id, ...}
 *   GET    /__sandbox/faults         faults in force;  DELETE clears them
 *   GET    /__sandbox/requests       recent API requests (method, url, status, fault); DELETE clears
 *   GET    /__sandbox/notifications  notification delivery attempts
 *   POST   /__sandbox/webhook        {url}: where webhooks go for providers without a per-request notify URL
 *
 * Adding a channel's simulator is one line in {@link SIMULATORS}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid, isPayError, PayError } from '../core/errors.js';
import { readBody } from '../core/read-body.js';
import { redactText } from '../core/redact.js';
import { systemClock, type Clock } from '../core/time.js';
import { FaultList, faultBody, malform, type ActiveFault, type FaultKind, type FaultSpec } from './faults.js';
import { Notifier, type DeliveryAttempt } from './notifier.js';
import type { ChannelSimulator, SimulatorDeps, SimulatorModule, SimulatorRequest, SimulatorResponse } from './contract.js';

export type { FaultKind, FaultSpec, ActiveFault } from './faults.js';
export type { DeliveryAttempt } from './notifier.js';

/** Loads a simulator module (`channels/<id>/sandbox/index.ts`, named export `simulator`). */
export type SimulatorLoader = () => Promise<{ simulator: SimulatorModule }>;

/** Simulators of the built-in channels, each loaded only when started. */
const SIMULATORS: Record<string, SimulatorLoader> = {
  alipay: () => import('../../channels/alipay/sandbox/index.js'),
  paypal: () => import('../../channels/paypal/sandbox/index.js'),
  stripe: () => import('../../channels/stripe/sandbox/index.js'),
  unionpay: () => import('../../channels/unionpay/sandbox/index.js'),
  wechatpay: () => import('../../channels/wechatpay/sandbox/index.js'),
};

/** The real channels `pay sandbox` serves, in port order (base, base+1, ...). */
export const SANDBOX_CHANNELS: readonly string[] = ['alipay', 'wechatpay', 'unionpay', 'stripe', 'paypal'];

/** Ids of the channels that have a built-in simulator. */
export function simulatorIds(): string[] {
  return Object.keys(SIMULATORS);
}

/** Hosts the sandbox may listen on: it serves test keys and must never face a network. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Options for {@link startSandbox}. */
export interface SandboxOptions {
  /** Channels to serve (default: every channel of {@link SANDBOX_CHANNELS} plus any given in `simulators`). */
  channels?: string[];
  /** Base port: channel i listens on port + i; 0 (default) picks free ports. */
  port?: number;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** The simulators' clock (tests move it). */
  clock?: Clock;
  /** Diagnostics: requests, faults, notification attempts. */
  log?: (message: string) => void;
  /** Extra or replacement simulators by channel id (tests; third-party channels). */
  simulators?: Record<string, SimulatorModule | SimulatorLoader>;
  /** Initial webhook URL for providers without a per-request notify URL. */
  webhookUrl?: string;
  /** Timeout of one notification attempt, ms (default 5,000). */
  notifyTimeoutMs?: number;
}

/** One request a simulator listener received (bodies cut at 16 KiB). */
export interface SandboxRequestLog {
  /** ISO time it arrived. */
  at: string;
  method: string;
  /** Path and query. */
  url: string;
  /** Request body as UTF-8 text. */
  body: string;
  /** The provider's operation where the path does not say it (Alipay's `alipay.trade.refund`). */
  operation?: string;
  /** Status answered (absent for a reset). */
  status?: number;
  /** The fault applied, if any. */
  fault?: FaultKind;
  /** True when the simulator's handle() ran (false for injected statuses and resets). */
  handled: boolean;
  /** First characters of the body served. */
  responseExcerpt?: string;
  /** True when the client left before a delayed answer was sent (`status` is what it would have got). */
  abandoned?: boolean;
}

/** A running channel simulator. */
export interface SandboxChannel {
  id: string;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  /** Settings that point pay at this simulator (the `sandbox` profile for the channel). */
  profile: Record<string, unknown>;
  simulator: ChannelSimulator;
}

/** A running sandbox. */
export interface RunningSandbox {
  /** Channels being served, by id. */
  readonly channels: Record<string, SandboxChannel>;
  /** Requested channels that have no simulator. */
  readonly unavailable: string[];
  /** Base URL of a channel's simulator. */
  baseUrl(channel: string): string;
  /** The profile settings of a channel's simulator. */
  profile(channel: string): Record<string, unknown>;
  /** The payer pays (or fails to pay) an order; the simulator notifies. */
  pay(channel: string, orderNo: string, outcome?: 'succeeded' | 'failed'): Promise<void>;
  /** Adds a fault to a channel's listener. */
  fault(channel: string, spec: FaultSpec): ActiveFault;
  /** Removes faults (of one channel, or all). */
  clearFaults(channel?: string): void;
  /** Recent API requests a channel received, oldest first. */
  requests(channel: string): SandboxRequestLog[];
  /** Notification delivery attempts (of one channel, or all). */
  deliveries(channel?: string): DeliveryAttempt[];
  /** Resolves when no notification is waiting for an attempt or a retry. */
  notificationsIdle(): Promise<void>;
  /** Sets where webhooks go (one channel, or all). */
  setWebhookUrl(url: string | undefined, channel?: string): void;
  /** Stops listeners, timers and deliveries; removes the simulators' work directories. */
  close(): Promise<void>;
}

interface Listener {
  channel: SandboxChannel;
  server: Server;
  faults: FaultList;
  log: SandboxRequestLog[];
  workDir: string;
  webhookUrl?: string;
}

const MAX_BODY = 16 * 1024 * 1024;
const LOG_KEEP = 1000;
const LOG_BODY = 16 * 1024;

async function loadSimulator(id: string, extra: SandboxOptions['simulators']): Promise<SimulatorModule | undefined> {
  const given = extra?.[id];
  if (given) return typeof given === 'function' ? (await given()).simulator : given;
  const loader = SIMULATORS[id];
  if (!loader) return undefined;
  const mod = (await loader()).simulator;
  if (!mod || typeof mod.create !== 'function') {
    throw new PayError('SYSTEM_ERROR', `channels/${id}/sandbox does not export a simulator ({ id, create })`);
  }
  return mod;
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function send(res: ServerResponse, out: SimulatorResponse): Buffer {
  const body = out.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(out.body) ? out.body : Buffer.from(out.body, 'utf8');
  const headers: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(out.headers ?? {})) if (k.toLowerCase() !== 'content-length') headers[k] = v;
  headers['content-length'] = body.length;
  res.writeHead(out.status, headers);
  res.end(body);
  return body;
}

/** Starts the simulators. Rejects (closing whatever started) if a listener cannot start. */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw invalid(`the sandbox listens on loopback only, not ${host}`, { hint: 'It serves test-only keys; use 127.0.0.1 (or ::1).' });
  }
  const basePort = options.port ?? 0;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65535) throw invalid(`--port ${String(options.port)} is not a port number (0-65535; 0 picks free ports)`);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  const requested = options.channels?.length ? [...new Set(options.channels)] : [...new Set([...SANDBOX_CHANNELS, ...Object.keys(options.simulators ?? {})])];
  for (const id of requested) {
    if (!SANDBOX_CHANNELS.includes(id) && !SIMULATORS[id] && !options.simulators?.[id]) {
      throw invalid(`the sandbox has no channel "${id}"`, { hint: `Channels: ${SANDBOX_CHANNELS.join(', ')}.` });
    }
  }
  if (basePort > 0 && basePort + requested.length - 1 > 65535) throw invalid(`--port ${basePort} leaves no room for ${requested.length} channels`);

  const notifier = new Notifier({ log, timeoutMs: options.notifyTimeoutMs });
  const listeners = new Map<string, Listener>();
  const delayed = new Set<NodeJS.Timeout>();
  const unavailable: string[] = [];
  let defaultWebhook = options.webhookUrl;
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    for (const t of delayed) clearTimeout(t);
    delayed.clear();
    await notifier.close();
    for (const l of listeners.values()) {
      l.server.closeAllConnections();
      await new Promise<void>((r) => l.server.close(() => r()));
      try {
        await l.channel.simulator.close?.();
      } catch (err) {
        log(`${l.channel.id}: simulator close failed: ${(err as Error).message}`);
      }
      rmSync(l.workDir, { recursive: true, force: true });
    }
  };

  const get = (channel: string): Listener => {
    const l = listeners.get(channel);
    if (!l) {
      throw invalid(`the sandbox is not serving channel "${channel}"`, {
        hint: listeners.size ? `Serving: ${[...listeners.keys()].join(', ')}.` : 'No channel simulator is running.',
      });
    }
    return l;
  };

  const pay = async (l: Listener, orderNo: unknown, outcome: unknown) => {
    if (typeof orderNo !== 'string' || orderNo === '') throw invalid('pay needs an orderNo');
    if (outcome !== undefined && outcome !== 'succeeded' && outcome !== 'failed') throw invalid('outcome must be "succeeded" or "failed"');
    await l.channel.simulator.simulatePayment(orderNo, outcome as 'succeeded' | 'failed' | undefined);
    log(`${l.channel.id}: payer ${outcome === 'failed' ? 'failed to pay' : 'paid'} ${orderNo}`);
  };

  async function control(l: Listener, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> {
    const json = (): Record<string, unknown> => {
      if (body.length === 0) return {};
      try {
        const v = JSON.parse(body.toString('utf8')) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        /* fall through */
      }
      throw invalid('the control API takes a JSON object body');
    };
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /__sandbox/health':
        return sendJson(res, 200, { ok: true, channel: l.channel.id, baseUrl: l.channel.baseUrl, time: new Date(clock()).toISOString() });
      case 'POST /__sandbox/pay': {
        const b = json();
        await pay(l, b.orderNo, b.outcome);
        return sendJson(res, 200, { ok: true, orderNo: b.orderNo, outcome: b.outcome ?? 'succeeded' });
      }
      case 'POST /__sandbox/faults': {
        const f = l.faults.add(json() as unknown as FaultSpec);
        log(`${l.channel.id}: fault #${f.id} ${f.kind}${f.match ? ` on ${f.match}` : ''}${f.bodyMatch ? ` (body ${f.bodyMatch})` : ''} x${f.times ?? 1}`);
        return sendJson(res, 201, f);
      }
      case 'GET /__sandbox/faults':
        return sendJson(res, 200, { faults: l.faults.list() });
      case 'DELETE /__sandbox/faults':
        return sendJson(res, 200, { cleared: l.faults.clear() });
      case 'GET /__sandbox/requests':
        return sendJson(res, 200, { requests: l.log });
      case 'DELETE /__sandbox/requests':
        l.log.length = 0;
        return sendJson(res, 200, { cleared: true });
      case 'GET /__sandbox/notifications':
        return sendJson(res, 200, { deliveries: notifier.log(l.channel.id) });
      case 'POST /__sandbox/webhook': {
        const b = json();
        if (b.url !== undefined && b.url !== null && (typeof b.url !== 'string' || !/^https?:\/\//.test(b.url))) throw invalid('webhook url must be an http(s) URL');
        l.webhookUrl = (b.url as string | null | undefined) ?? undefined;
        return sendJson(res, 200, { ok: true, url: l.webhookUrl ?? null });
      }
      default:
        return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no sandbox control endpoint ${route}` } });
    }
  }

  async function serve(l: Listener, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, { maxBytes: MAX_BODY, tooLarge: () => invalid('request body too large for the sandbox') });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sandbox/')) return control(l, req, res, path, body);

    const simReq: SimulatorRequest = { method, path, query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), url, headers: lowerHeaders(req), body };
    const operation = l.channel.simulator.operation?.(simReq);
    const fault = l.faults.take(method, url, body, () => operation);
    const entry: SandboxRequestLog = { at: new Date().toISOString(), method, url, body: body.subarray(0, LOG_BODY).toString('utf8'), handled: false };
    if (operation) entry.operation = operation;
    if (fault) entry.fault = fault.kind;
    l.log.push(entry);
    if (l.log.length > LOG_KEEP) l.log.splice(0, l.log.length - LOG_KEEP);

    if (fault?.kind === 'reset') {
      log(`${l.channel.id}: ${method} ${path}: connection reset (fault #${fault.id})`);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const status = fault.status ?? 503;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      entry.status = status;
      const sent = send(res, { status, headers, body: fault.body ?? faultBody(status) });
      entry.responseExcerpt = sent.subarray(0, 200).toString('utf8');
      log(`${l.channel.id}: ${method} ${path}: HTTP ${status} (fault #${fault.id})`);
      return;
    }

    let out: SimulatorResponse;
    try {
      out = (await l.channel.simulator.handle(simReq)) ?? {
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: { code: 'NOT_FOUND', message: `the ${l.channel.id} simulator has no ${method} ${path}` } }),
      };
    } catch (err) {
      log(`${l.channel.id}: ${method} ${path}: simulator error: ${redactText((err as Error).message)}`);
      out = { status: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'SIMULATOR_ERROR', message: (err as Error).message } }) };
    }
    entry.handled = true;
    if (fault?.kind === 'badSignature' || fault?.kind === 'missingSignature') out = l.channel.simulator.tamper(out, fault.kind);
    else if (fault?.kind === 'malformed') out = malform(out, fault.body);
    entry.status = out.status;
    if (fault?.kind === 'delay' && fault.delayMs) {
      // The request is processed first and only the answer is late, like a provider whose
      // response is lost in transit: the order exists and a later query finds it.
      const ms = fault.delayMs;
      const gone = await new Promise<boolean>((resolve) => {
        const onClose = () => {
          clearTimeout(t);
          delayed.delete(t);
          resolve(true);
        };
        const t = setTimeout(() => {
          delayed.delete(t);
          res.off('close', onClose);
          resolve(false);
        }, ms);
        delayed.add(t);
        res.once('close', onClose);
      });
      if (gone || closed) {
        entry.abandoned = true;
        log(`${l.channel.id}: ${method} ${path}: client left before the delayed answer (fault #${fault.id})`);
        return;
      }
    }
    const sent = send(res, out);
    entry.responseExcerpt = sent.subarray(0, 200).toString('utf8');
    log(`${l.channel.id}: ${method} ${path} -> ${out.status}${fault ? ` (fault #${fault.id} ${fault.kind})` : ''}`);
  }

  try {
    let index = 0;
    for (const id of requested) {
      const mod = await loadSimulator(id, options.simulators);
      if (!mod) {
        unavailable.push(id);
        continue;
      }
      const port = basePort === 0 ? 0 : basePort + index;
      index++;
      const workDir = mkdtempSync(join(tmpdir(), `pay-sandbox-${id}-`));
      const l = { faults: new FaultList(), log: [], workDir } as unknown as Listener;
      let baseUrl = '';
      const deps: SimulatorDeps = {
        clock,
        workDir,
        log: (m) => log(`${id}: ${m}`),
        notify: (n) => notifier.deliver(id, n),
        baseUrl: () => baseUrl,
        webhookUrl: () => l.webhookUrl ?? defaultWebhook,
      };
      let simulator: ChannelSimulator;
      try {
        simulator = await mod.create(deps);
      } catch (err) {
        rmSync(workDir, { recursive: true, force: true });
        throw err;
      }
      const server = createServer((req, res) => {
        serve(l, req, res).catch((err) => {
          const e = isPayError(err) ? err : undefined;
          if (!res.headersSent && !res.destroyed) sendJson(res, e ? 400 : 500, { error: { code: e?.code ?? 'SANDBOX_ERROR', message: (err as Error).message } });
          if (!e) log(`${id}: ${(err as Error).stack ?? String(err)}`);
        });
      });
      server.keepAliveTimeout = 30_000;
      l.server = server;
      l.channel = { id, baseUrl: '', port: 0, profile: {}, simulator };
      // Registered before listening, so close() covers a listener that fails half way.
      listeners.set(id, l);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            err.code === 'EADDRINUSE'
              ? invalid(`port ${port} (for ${id}) is in use`, { hint: 'Choose another --port, or --port 0 for free ports.' })
              : new PayError('SYSTEM_ERROR', `cannot listen on ${host}:${port} for ${id}: ${err.code ?? err.message}`),
          ),
        );
        server.listen(port, host, () => resolve());
      });
      const actual = (server.address() as AddressInfo).port;
      baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
      l.channel.baseUrl = baseUrl;
      l.channel.port = actual;
      l.channel.profile = simulator.profile(baseUrl);
      log(`${id}: simulator listening on ${baseUrl}`);
    }
  } catch (err) {
    await close();
    throw err;
  }

  const channels: Record<string, SandboxChannel> = {};
  for (const [id, l] of listeners) channels[id] = l.channel;

  return {
    channels,
    unavailable,
    baseUrl: (channel) => get(channel).channel.baseUrl,
    profile: (channel) => get(channel).channel.profile,
    pay: (channel, orderNo, outcome) => pay(get(channel), orderNo, outcome),
    fault: (channel, spec) => get(channel).faults.add(spec),
    clearFaults: (channel) => {
      for (const l of channel ? [get(channel)] : listeners.values()) l.faults.clear();
    },
    requests: (channel) => [...get(channel).log],
    deliveries: (channel) => notifier.log(channel),
    notificationsIdle: () => notifier.idle(),
    setWebhookUrl: (url, channel) => {
      if (channel) get(channel).webhookUrl = url;
      else {
        defaultWebhook = url;
        for (const l of listeners.values()) l.webhookUrl = undefined;
      }
    },
    close,
  };
}
