/**
 * `pay loadtest`: load tests that CI can gate on.
 *
 * Targets: a channel through its adapter (`--channel mock` in-process; a real channel or its
 * sandbox simulator over the shared HTTP client), or a raw HTTP endpoint (`--url`) for
 * calibration. Models: closed (`--concurrency 1,10,50` runs each level in turn) or open
 * (`--rate 200/s`, `--rate 100:1000/s`). Every run is bounded by `--duration` or `--requests`;
 * a live (non-loopback) endpoint needs `--allow-live`; load-test orders stay out of the order
 * book unless `--db` is given. Thresholds decide the exit status: any breach exits 1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid } from '../core/errors.js';
import { normalizeCurrency, parseAmount, formatAmount } from '../core/money.js';
import { redactText } from '../core/redact.js';
import { isoUtc } from '../core/time.js';
import type { Capability, ChannelAdapter, ChannelCallRecord } from '../channel/contract.js';
import { DEFAULT_MIX, type ChannelCalls, type LoadOp, type OpMix } from '../loadtest/channel-target.js';
import type { LevelBounds, LevelPlan } from '../loadtest/runner.js';
import type { LevelRecorder } from '../loadtest/stats.js';
import type { LevelReport, LoadtestSummary } from '../loadtest/summary.js';
import type { Target } from '../loadtest/target.js';
import type { MetricSource, Threshold, ThresholdResult } from '../loadtest/thresholds.js';
import type { Block, Cell, Presentation } from '../output/render.js';
import type { Context } from './context.js';
import { applyOrderState, applyRefundState, isDefinitiveRejection } from './lifecycle.js';
import { required } from './prompt.js';

/** Options of `pay loadtest` (strings as typed; parsed here). */
export interface LoadtestOptions {
  channel?: string;
  url?: string;
  method?: string;
  header?: string[];
  /** Body text, or `@file`. */
  body?: string;
  op?: string;
  mix?: string;
  amount?: string;
  currency?: string;
  concurrency?: string;
  rate?: string;
  duration?: string;
  requests?: string;
  warmup?: string;
  maxInFlight?: string;
  timeout?: string;
  threshold?: string[];
  baseline?: string;
  abortOnFail?: boolean;
  out?: string;
  /** Also write the run as an HTML page (`load.html`). */
  report?: string;
  allowLive?: boolean;
  seedOrders?: string;
  /** The global `--db` flag as given (not $PAY_DB): only an explicit flag records orders. */
  db?: string;
  /** Stops the run early (the CLI wires Ctrl-C to it). */
  signal?: AbortSignal;
}

/** Default cap on open-model requests in flight. */
export const DEFAULT_MAX_IN_FLIGHT = 256;
/** Default orders created before a query or refund run. */
export const DEFAULT_SEED_ORDERS = 200;

const OPS = ['collect', 'query', 'refund', 'mixed'] as const;

/** Parses a duration: `10` (seconds), `10s`, `500ms`, `2m`. Returns ms. */
export function parseDuration(input: string, flag: string, allowZero = false): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(String(input));
  if (!m) throw invalid(`${flag} "${input}" is not a duration`, { hint: `Give seconds (10), or 10s, 500ms, 2m.` });
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
  if (!Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) throw invalid(`${flag} must be more than zero`);
  if (ms > 24 * 3600_000) throw invalid(`${flag} ${input} is longer than a day`, { hint: 'Split very long soak tests into runs of at most 24 h.' });
  return Math.round(ms);
}

function positiveInt(input: string, flag: string, max: number): number {
  const text = String(input).trim();
  if (!/^\d+$/.test(text) || Number(text) < 1) throw invalid(`${flag} "${input}" is not a positive whole number`);
  const n = Number(text);
  if (n > max) throw invalid(`${flag} ${n} is more than ${max.toLocaleString('en')}`);
  return n;
}

/** Parses `--concurrency 1,10,50`. */
export function parseConcurrency(input: string): number[] {
  const list = String(input)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw invalid('--concurrency needs at least one number', { hint: 'e.g. --concurrency 50 or --concurrency 1,10,50,100' });
  const levels = list.map((s) => positiveInt(s, '--concurrency', 10_000));
  if (new Set(levels).size !== levels.length) throw invalid(`--concurrency ${input} repeats a level`);
  return levels;
}

/** Parses `--rate 200/s` or `--rate 100:1000/s` (the `/s` is optional). */
export function parseRate(input: string): { from: number; to: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?))?\s*(?:\/\s*s)?\s*$/i.exec(String(input));
  if (!m) throw invalid(`--rate "${input}" is not a rate`, { hint: 'Give requests per second: --rate 200/s, or a ramp --rate 100:1000/s.' });
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (to <= 0 || (m[2] === undefined && from <= 0)) throw invalid(`--rate ${input}: the rate must be more than zero`);
  if (from > 1_000_000 || to > 1_000_000) throw invalid(`--rate ${input} is more than 1,000,000/s`);
  return { from, to };
}

/** Parses `--mix collect=50,query=40,refund=10`. */
export function parseMix(input: string): OpMix {
  const mix: OpMix = {};
  for (const part of String(input).split(',')) {
    const m = /^\s*(collect|query|refund)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!m) throw invalid(`--mix "${input}" is not op=weight pairs`, { hint: 'e.g. --mix collect=50,query=40,refund=10' });
    mix[m[1] as LoadOp] = Number(m[2]);
  }
  if (!Object.values(mix).some((w) => (w ?? 0) > 0)) throw invalid('--mix needs at least one positive weight');
  return mix;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True when `host` is this machine's loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h.endsWith('.localhost');
}

/** Config keys that hold a channel's API base URL. */
const BASE_URL_KEYS = ['baseUrl', 'gateway', 'endpoint', 'apiBase', 'url'];

/** The base URL a channel's validated config points at (undefined when it has none). */
function channelBaseUrl(config: Record<string, unknown>): string | undefined {
  for (const k of BASE_URL_KEYS) if (typeof config[k] === 'string' && config[k]) return config[k] as string;
  return undefined;
}

function readBody(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  if (!body.startsWith('@')) return body;
  const path = body.slice(1);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(`cannot read --body file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function parseHeaders(list: string[] | undefined): [string, string][] {
  return (list ?? []).map((h) => {
    const i = h.indexOf(':');
    const name = i > 0 ? h.slice(0, i).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid(`--header "${redactText(h).slice(0, 60)}" is not "name: value"`);
    const value = h.slice(i + 1).trim();
    // Named without its value: it may be a credential.
    if (/[\0\r\n]/.test(value)) throw invalid(`--header ${name} has a line break or NUL in its value`);
    return [name, value] as [string, string];
  });
}

function defaultCurrency(channel: string): string {
  return channel === 'stripe' || channel === 'paypal' ? 'USD' : 'CNY';
}

function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pay-cli' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

/** Everything parsed from the options, before any target exists. */
interface Plan {
  levels: LevelPlan[];
  bounds: Omit<LevelBounds, 'drainMs'>;
  timeoutMs: number;
  thresholds: Threshold[];
  baseline?: LoadtestSummary;
  config: Record<string, unknown>;
}

/** Validates every option (usage errors, exit 2) before anything is opened or sent. */
async function makePlan(opts: LoadtestOptions): Promise<Plan> {
  if (opts.concurrency !== undefined && opts.rate !== undefined) throw invalid('give --concurrency (closed model) or --rate (open model), not both');
  if (opts.concurrency === undefined && opts.rate === undefined) {
    throw invalid('missing --concurrency or --rate', { hint: 'Closed model: --concurrency 50 (or 1,10,50,100). Open model: --rate 200/s (or a ramp 100:1000/s).' });
  }
  if (opts.duration !== undefined && opts.requests !== undefined) throw invalid('give --duration or --requests, not both');
  if (opts.duration === undefined && opts.requests === undefined) {
    throw invalid('missing --duration or --requests: every load test is bounded', { hint: 'e.g. --duration 30s or --requests 10000.' });
  }
  const durationMs = opts.duration !== undefined ? parseDuration(opts.duration, '--duration') : undefined;
  const requests = opts.requests !== undefined ? positiveInt(opts.requests, '--requests', 1_000_000_000) : undefined;
  // A short warm-up by default on timed runs: connections open and JIT settles outside the numbers.
  const warmupMs = opts.warmup !== undefined ? parseDuration(opts.warmup, '--warmup', true) : durationMs !== undefined ? 1000 : 0;
  const timeoutMs = opts.timeout !== undefined ? parseDuration(opts.timeout, '--timeout') : 30_000;

  let levels: LevelPlan[];
  if (opts.concurrency !== undefined) {
    if (opts.maxInFlight !== undefined) throw invalid('--max-in-flight applies to the open model (--rate); with --concurrency the workers are the limit');
    levels = parseConcurrency(opts.concurrency).map((n) => ({ model: 'closed', key: `c${n}`, label: `${n} worker${n === 1 ? '' : 's'}`, concurrency: n }));
  } else {
    const { from, to } = parseRate(opts.rate!);
    const maxInFlight = opts.maxInFlight !== undefined ? positiveInt(opts.maxInFlight, '--max-in-flight', 100_000) : DEFAULT_MAX_IN_FLIGHT;
    const key = from === to ? `r${from}` : `r${from}-${to}`;
    const label = from === to ? `${from}/s` : `${from}-${to}/s`;
    levels = [{ model: 'open', key, label, from, to, maxInFlight }];
  }

  const { parseThreshold } = await import('../loadtest/thresholds.js');
  const thresholds = (opts.threshold ?? []).map(parseThreshold);
  const late = thresholds.find((t) => t.metric.kind === 'late');
  if (late && levels[0].model === 'closed') throw invalid(`threshold ${late.expr}: lateness exists only in the open model (--rate)`);
  let baseline: LoadtestSummary | undefined;
  if (opts.baseline !== undefined) {
    const { loadBaseline, baselineLevel } = await import('../loadtest/summary.js');
    baseline = loadBaseline(opts.baseline);
    for (const l of levels) {
      if (!baselineLevel(baseline, l.key)) {
        throw invalid(`baseline ${opts.baseline} has no level ${l.label} (it has ${baseline.levels.map((b) => b.label).join(', ') || 'none'})`, {
          hint: 'Compare like with like: run the same --concurrency or --rate as the baseline.',
        });
      }
    }
  } else if (thresholds.some((t) => t.relative !== undefined)) {
    throw invalid(`relative threshold ${thresholds.find((t) => t.relative !== undefined)!.expr} needs --baseline <summary.json>`);
  }

  const config: Record<string, unknown> = {
    model: levels[0].model,
    ...(levels[0].model === 'closed' ? { concurrency: levels.map((l) => (l as { concurrency: number }).concurrency) } : {}),
    ...(levels[0].model === 'open' ? { rate: { from: (levels[0] as { from: number }).from, to: (levels[0] as { to: number }).to }, maxInFlight: (levels[0] as { maxInFlight: number }).maxInFlight } : {}),
    ...(durationMs !== undefined ? { durationSec: durationMs / 1000 } : { requests }),
    warmupSec: warmupMs / 1000,
    timeoutMs,
    thresholds: thresholds.map((t) => t.expr),
    ...(opts.baseline ? { baseline: opts.baseline } : {}),
    abortOnFail: Boolean(opts.abortOnFail),
  };
  return { levels, bounds: { durationMs, requests, warmupMs }, timeoutMs, thresholds, baseline, config };
}

/** The target and how to release it. */
interface OpenedTarget {
  target: Target;
  /** Summary `target` section. */
  info: Record<string, unknown>;
  close(): Promise<void>;
}

async function openHttpTarget(opts: LoadtestOptions, plan: Plan): Promise<OpenedTarget> {
  if (opts.op !== undefined || opts.mix !== undefined || opts.amount !== undefined || opts.currency !== undefined || opts.seedOrders !== undefined) {
    throw invalid('--op, --mix, --amount, --currency and --seed-orders apply to --channel runs, not to --url');
  }
  let url: URL;
  try {
    url = new URL(opts.url!);
  } catch {
    throw invalid(`--url "${redactText(opts.url!).slice(0, 80)}" is not a URL`, { hint: 'e.g. --url http://127.0.0.1:8080/ping' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`--url must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw invalid('--url must not carry credentials', { hint: 'Send them in a header: --header "authorization: ..." (it is redacted from the summary).' });
  const live = !isLoopbackHost(url.hostname);
  if (live && !opts.allowLive) {
    throw invalid(`${url.host} is not on this machine: a load test there hits a live endpoint`, {
      hint: 'Pass --allow-live if that is what you mean (and you are allowed to load it).',
    });
  }
  const body = readBody(opts.body);
  const method = (opts.method ?? (body !== undefined ? 'POST' : 'GET')).toUpperCase();
  if (!/^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/.test(method)) throw invalid(`--method ${opts.method} is not an HTTP method pay sends`);
  const headers = parseHeaders(opts.header);
  if (body !== undefined && !headers.some(([k]) => k.toLowerCase() === 'content-type') && /^\s*[[{]/.test(body)) headers.push(['content-type', 'application/json']);
  const { HttpTarget } = await import('../loadtest/http-target.js');
  const target = new HttpTarget({ url, method, headers, body, timeoutMs: plan.timeoutMs });
  const { redact } = await import('../core/redact.js');
  return {
    target,
    info: {
      kind: 'http',
      method,
      url: `${url.origin}${url.pathname}`,
      live,
      headers: redact(Object.fromEntries(headers)),
      ...(body !== undefined ? { bodyBytes: Buffer.byteLength(body) } : {}),
    },
    close: () => target.close(),
  };
}

/** Wraps adapter calls so each is written to the order book (`--db`), as the payment commands do. */
function storeCalls(adapter: ChannelAdapter, channel: string, store: import('../store/store.js').Store): ChannelCalls {
  return {
    async collect(req) {
      const { order, created } = await store.createOrder({ orderNo: req.orderNo, kind: 'collect', channel, amountMinor: req.amountMinor, currency: req.currency, subject: req.subject, method: req.method, source: 'loadtest' });
      // --channel auto fell back from a channel that certainly did nothing: the order moves here.
      if (!created && order.channel !== channel && order.status === 'created') await store.rerouteOrder(req.orderNo, order.channel, channel, { source: 'route.fallback' });
      try {
        const res = await adapter.collect!(req);
        await store.updateOrder(
          req.orderNo,
          { status: res.status, channelTradeNo: res.channelTradeNo, payload: res.payload, paidAt: res.paidAt, failureCode: res.failure?.code, failureMessage: res.failure?.message },
          { source: 'channel.collect' },
        );
        return res;
      } catch (err) {
        if (isDefinitiveRejection(err)) await store.updateOrder(req.orderNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.collect' });
        throw err;
      }
    },
    async query(ref) {
      const state = await adapter.queryCollect!(ref);
      await applyOrderState(store, ref.orderNo, state, 'channel.query');
      return state;
    },
    async refund(req) {
      await store.createRefund({ refundNo: req.refundNo, orderNo: req.orderNo, amountMinor: req.amountMinor, reason: req.reason });
      try {
        const state = await adapter.refund!(req);
        await applyRefundState(store, req.refundNo, state, 'channel.refund');
        return state;
      } catch (err) {
        if (isDefinitiveRejection(err)) await store.updateRefund(req.refundNo, { status: 'failed', failureCode: err.providerCode ?? err.code, failureMessage: err.message }, { source: 'channel.refund' });
        throw err;
      }
    },
  };
}

/** A channel opened for a load test, with where it runs and its sandbox payer (if any). */
interface LoadChannel {
  id: string;
  opened: import('../channel/registry.js').OpenedChannel;
  inProcess: boolean;
  live: boolean;
  where: string;
  method?: string;
  calls: ChannelCalls;
  sandbox?: { pay(orderNo: string): Promise<void> };
}

/** What opening each channel of a run shares. */
interface LoadChannelEnv {
  opts: LoadtestOptions;
  ctx: Context;
  dbPath: string;
  recordOrders: boolean;
  store?: import('../store/store.js').Store;
  http: (channel: string) => Promise<import('../channel/http-client.js').HttpClient>;
}

/** Opens one channel for the run: refuses a live endpoint without --allow-live, finds a sandbox payer. */
async function openLoadChannel(ref: string, mod: import('../channel/contract.js').ChannelModule, e: LoadChannelEnv): Promise<LoadChannel> {
  const { openChannel } = await import('../channel/registry.js');
  const { ctx, store } = e;
  const opened = await openChannel(ref, {
    config: ctx.config(),
    profile: ctx.profile,
    env: ctx.env,
    cwd: ctx.cwd,
    dbPath: e.dbPath,
    clock: ctx.clock,
    debug: ctx.debug,
    // The mock keeps its books in memory unless the run records into a chosen order book.
    overrides: mod.id === 'mock' && !e.recordOrders ? { persist: false } : undefined,
    http: () => e.http(mod.id),
    record: store
      ? (entry: ChannelCallRecord & { channel: string }) => {
          const { channel, orderNo, refundNo, ...data } = entry;
          store.appendEvent({ type: 'channel.call', channel, orderNo, refundNo, data: data as Record<string, unknown> }).catch(() => {});
        }
      : undefined,
  });
  const id = opened.module.id;
  const inProcess = id === 'mock';
  try {
    const baseUrl = inProcess ? undefined : channelBaseUrl(opened.config);
    let live = false;
    if (!inProcess) {
      let host: string | undefined;
      try {
        host = baseUrl ? new URL(baseUrl).hostname : undefined;
      } catch {
        host = undefined;
      }
      live = !host || !isLoopbackHost(host);
      if (live && !e.opts.allowLive) {
        throw invalid(`channel ${id} points at ${host ?? "the provider's live API"}${ctx.profile ? ` (profile ${ctx.profile})` : ''}: a load test there creates real orders`, {
          hint: 'Use the sandbox (`pay sandbox`, then --profile sandbox), or pass --allow-live if you mean it.',
        });
      }
    }
    const adapter = opened.adapter;
    const sandbox = live || inProcess ? undefined : await sandboxControl(new URL(baseUrl!).origin);
    const calls: ChannelCalls = store
      ? storeCalls(adapter, id, store)
      : { collect: (r) => adapter.collect!(r), query: (r) => adapter.queryCollect!(r), refund: (r) => adapter.refund!(r) };
    return { id, opened, inProcess, live, where: inProcess ? 'in-process' : new URL(baseUrl!).origin, method: opened.module.description.methods?.[0], calls, sandbox };
  } catch (err) {
    await opened.close().catch(() => {});
    throw err;
  }
}

async function openChannelTarget(opts: LoadtestOptions, plan: Plan, ctx: Context, notice: (message: string) => void): Promise<OpenedTarget> {
  if (opts.method !== undefined || opts.header !== undefined || opts.body !== undefined) throw invalid('--method, --header and --body apply to --url runs, not to --channel');
  const channelRef = await required(ctx, opts.channel, { flag: '--channel', message: 'Channel to load-test:', choices: ['mock', 'alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay'] });
  const op = (opts.op ?? 'collect') as (typeof OPS)[number];
  if (!OPS.includes(op)) throw invalid(`--op ${opts.op} is not one of ${OPS.join(', ')}`);
  if (opts.mix !== undefined && op !== 'mixed') throw invalid('--mix applies to --op mixed');
  const mix: OpMix = op === 'mixed' ? (opts.mix !== undefined ? parseMix(opts.mix) : { ...DEFAULT_MIX }) : { [op]: 1 };
  const seedOrders = opts.seedOrders !== undefined ? positiveInt(opts.seedOrders, '--seed-orders', 100_000) : DEFAULT_SEED_ORDERS;

  const { loadChannelModule } = await import('../channel/registry.js');
  const loaded = ctx.config();
  // --channel auto: the routing rules (checked first) choose among the rule's targets per collect.
  const routing = channelRef === 'auto' ? await (await import('./route-plan.js')).loadRouting(ctx) : undefined;
  const firstCurrency = routing?.config.rules.find((r) => r.match.currencies)?.match.currencies?.[0];
  const mods = [];
  let currency = opts.currency !== undefined ? normalizeCurrency(opts.currency) : undefined;
  let rule: import('../core/routing.js').RouteRule | undefined;
  let ruleMethod: string | undefined;
  let amountMinor: number;
  if (routing) {
    currency ??= firstCurrency ?? 'CNY';
    amountMinor = parseAmount(opts.amount ?? '100', currency, { label: '--amount' });
    const { findRule } = await import('../core/routing.js');
    ruleMethod = routing.config.rules.find((r) => (!r.match.currencies || r.match.currencies.includes(currency!)) && r.match.methods)?.match.methods?.[0];
    rule = findRule(routing.config, { amountMinor, currency, method: ruleMethod });
    if (!rule) throw invalid(`no routing rule matches ${formatAmount(amountMinor, currency)} ${currency}`, { hint: 'Give --amount and --currency a rule matches (`pay routes list`).' });
    for (const t of rule.targets.filter((x) => x.enabled)) mods.push(await loadChannelModule(t.channel, { config: loaded, cwd: ctx.cwd }));
  } else {
    mods.push(await loadChannelModule(channelRef, { config: loaded, cwd: ctx.cwd }));
    currency ??= normalizeCurrency(defaultCurrency(mods[0].id));
    amountMinor = parseAmount(opts.amount ?? '100', currency, { label: '--amount' });
  }
  const capability: Record<LoadOp, Capability> = { collect: 'collect', query: 'queryCollect', refund: 'refund' };
  for (const mod of mods) {
    for (const o of ['collect', 'query', 'refund'] as const) {
      // Collect is always needed: it creates the orders queries and refunds work on.
      const used = o === 'collect' || (mix[o] ?? 0) > 0;
      if (used && !mod.description.capabilities.includes(capability[o])) {
        throw invalid(`channel ${mod.id} cannot ${o === 'query' ? 'query orders' : o}, so it cannot be load-tested with --op ${op}`);
      }
    }
  }

  // Orders go to the order book only when --db was given explicitly; otherwise the channel's own
  // state (the mock's books) lives in a throw-away directory.
  const recordOrders = opts.db !== undefined;
  const scratch = recordOrders ? undefined : mkdtempSync(join(tmpdir(), 'pay-loadtest-'));
  const dbPath = recordOrders ? ctx.localPath : join(scratch!, 'loadtest.db');
  const store = recordOrders ? await ctx.store() : undefined;
  let http: import('../channel/undici-http-client.js').UndiciHttpClient | undefined;
  const maxConcurrency = Math.max(...plan.levels.map((l) => (l.model === 'closed' ? l.concurrency : l.maxInFlight)));
  const channels: LoadChannel[] = [];
  const cleanup = async () => {
    for (const c of channels.splice(0)) await c.opened.close().catch(() => {});
    await http?.close().catch(() => {});
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const env: LoadChannelEnv = {
      opts,
      ctx,
      dbPath,
      recordOrders,
      store,
      http: async (channel) => {
        if (!http) {
          const { createHttpClient } = await import('../channel/undici-http-client.js');
          // No retries: a load test counts failures rather than hiding them behind a retry.
          http = createHttpClient({ env: ctx.env, connections: maxConcurrency, maxAttempts: 1, headersTimeoutMs: plan.timeoutMs, bodyTimeoutMs: plan.timeoutMs });
        }
        return http.forChannel(channel);
      },
    };
    for (const mod of mods) channels.push(await openLoadChannel(routing ? mod.id : channelRef, mod, env));
    const { ChannelTarget } = await import('../loadtest/channel-target.js');
    let calls = channels[0].calls;
    let payOrder = channels[0].sandbox?.pay;
    let routed: import('../loadtest/routed-calls.js').RoutedCalls | undefined;
    if (routing && rule) {
      const { RoutedCalls } = await import('../loadtest/routed-calls.js');
      const { seededRandom } = await import('../core/routing.js');
      const { channelMethod } = await import('./route-plan.js');
      // Health is read from the order book a run records into, once, before the clock starts.
      let health: Map<string, { calls: number; failures: number }> | undefined;
      if (routing.config.health && store) health = await (await ctx.stats()).channelHealth(rule.targets.map((t) => t.channel), isoUtc(ctx.clock() - routing.config.health.windowMs));
      routed = new RoutedCalls({
        config: routing.config,
        rule,
        channels: channels.map((c) => ({ id: c.id, calls: c.calls, payOrder: c.sandbox?.pay })),
        random: seededRandom(1),
        health: health ? (c) => health!.get(c) : undefined,
        methodOf: (c, m) => channelMethod(routing, c, m),
      });
      calls = routed;
      payOrder = channels.every((c) => c.inProcess) ? undefined : (orderNo) => routed!.payOrder(orderNo);
    }
    const where = channels.map((c) => c.where).join(', ');
    const target = new ChannelTarget({
      channel: routing ? 'auto' : channels[0].id,
      where,
      inProcess: channels.every((c) => c.inProcess),
      calls,
      mix,
      amountMinor,
      currency,
      method: routing ? ruleMethod : channels[0].method,
      seedOrders,
      seedTimeoutMs: 30_000,
      clock: ctx.clock,
      notice,
      payOrder,
    });
    const sandboxed = channels.some((c) => c.sandbox);
    return {
      target,
      info: {
        kind: 'channel',
        channel: routing ? 'auto' : channels[0].id,
        where,
        live: channels.some((c) => c.live),
        op,
        mix,
        amount: formatAmount(amountMinor, currency),
        amountMinor,
        currency,
        ...(sandboxed ? { sandbox: true } : {}),
        // Live: the run fills in the split as it goes.
        ...(routed ? { routing: Object.assign(routed.report, { source: routing!.source }) } : {}),
        orderBook: recordOrders ? ctx.dbPath : 'none (pass --db to record load-test orders)',
      },
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The control API of a `pay sandbox` simulator at `origin`, when there is one: refund runs use its
 * payer (`POST /__sandbox/pay`) to get orders paid. Anything else at that address is left alone.
 */
async function sandboxControl(origin: string): Promise<{ pay(orderNo: string): Promise<void> } | undefined> {
  try {
    const res = await fetch(`${origin}/__sandbox/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { ok?: boolean };
    if (!res.ok || body?.ok !== true) return undefined;
  } catch {
    return undefined;
  }
  return {
    async pay(orderNo: string) {
      const res = await fetch(`${origin}/__sandbox/pay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderNo, outcome: 'succeeded' }),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`sandbox payer answered HTTP ${res.status}`);
    },
  };
}

/** Live progress on stderr: one rewritten line, on a terminal only. */
class Progress {
  private readonly on: boolean;
  private shown = false;
  constructor(private readonly ctx: Context) {
    this.on = !ctx.json && !ctx.quiet && Boolean((ctx.stderr as { isTTY?: boolean }).isTTY);
  }
  update(text: string): void {
    if (!this.on) return;
    this.ctx.stderr.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }
  line(text: string): void {
    if (!this.on) return;
    this.clear();
    this.ctx.stderr.write(`${text}\n`);
  }
  clear(): void {
    if (this.on && this.shown) this.ctx.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en');

/** Runs the load test and returns its summary (thresholds evaluated). */
export async function loadtest(opts: LoadtestOptions, ctx: Context): Promise<LoadtestSummary> {
  if (opts.url !== undefined && opts.channel !== undefined) throw invalid('give --channel or --url, not both', { hint: '--url load-tests a raw HTTP endpoint; --channel goes through a channel adapter.' });
  const plan = await makePlan(opts);
  const reportPath = opts.report !== undefined ? await reportTarget(opts.report, ctx) : undefined;
  const progress = new Progress(ctx);
  const opened = opts.url !== undefined ? await openHttpTarget(opts, plan) : await openChannelTarget(opts, plan, ctx, (m) => progress.line(m));
  const { runLevel } = await import('../loadtest/runner.js');
  const { levelReport, addEfficiency, reportSource, baselineLevel, environment } = await import('../loadtest/summary.js');
  const { evaluateThreshold, abortable } = await import('../loadtest/thresholds.js');
  const startedAt = isoUtc(Date.now());
  const env = environment(packageVersion());
  const levels: LevelReport[] = [];
  let aborted: LoadtestSummary['aborted'];
  try {
    const { target } = opened;
    progress.update(`preparing ${target.description}...`);
    await target.prepare();
    // A request can take up to the timeout; the drain waits that long, plus a little.
    const bounds: LevelBounds = { ...plan.bounds, drainMs: plan.timeoutMs + 1000 };
    const early = opts.abortOnFail ? plan.thresholds.filter(abortable) : [];
    for (const [i, lp] of plan.levels.entries()) {
      if (opts.signal?.aborted) break;
      const span = bounds.durationMs !== undefined ? `${bounds.durationMs / 1000}s` : `${fmtInt(bounds.requests!)} requests`;
      const onTick = (rec: LevelRecorder, now: number): string | undefined => {
        const n = rec.live(now);
        progress.update(
          `${plan.levels.length > 1 ? `[${i + 1}/${plan.levels.length}] ` : ''}${lp.label}  ${n.elapsedSec.toFixed(0)}s/${span}  ${fmtInt(n.rps)} req/s  p99 ${n.p99} ms  errors ${n.errors}${n.errors ? ` (${(n.errorRate * 100).toFixed(2)}%)` : ''}`,
        );
        if (early.length === 0 || n.requests < 50 || n.elapsedSec < 1) return undefined;
        // Read lazily: only the metrics the thresholds name are computed.
        const live: MetricSource = {
          latencyAt: (p) => rec.latency.percentileMs(p),
          get maxMs() {
            return rec.latency.maxMs();
          },
          get meanMs() {
            return rec.latency.meanMs();
          },
          errorRate: n.errorRate,
          lateRate: rec.scheduled > 0 ? (rec.started > 0 ? rec.startedLate / rec.started : 0) : undefined,
          rps: n.rps,
        };
        const base = plan.baseline ? baselineLevel(plan.baseline, lp.key) : undefined;
        for (const t of early) {
          const r = evaluateThreshold(t, lp.label, live, base ? reportSource(base) : undefined);
          if (!r.pass && !r.note) return `threshold ${t.expr} breached at ${n.elapsedSec.toFixed(1)} s (${r.actual}${r.unit === 'req/s' ? ' req/s' : r.unit === '%' ? '%' : ' ms'})`;
        }
        return undefined;
      };
      const outcome = await runLevel(target, lp, bounds, { onTick, signal: opts.signal });
      const report = levelReport(lp, outcome);
      levels.push(report);
      progress.line(`${lp.label}: ${fmtInt(report.rps)} req/s, p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms, ${report.errors} error${report.errors === 1 ? '' : 's'}`);
      if (outcome.stoppedBy) {
        aborted = { reason: outcome.stoppedBy, level: lp.label };
        break;
      }
    }
    if (!aborted && opts.signal?.aborted) aborted = { reason: 'interrupted', level: plan.levels[levels.length]?.label ?? '' };
    progress.clear();
    addEfficiency(levels);
    const thresholds: ThresholdResult[] = [];
    for (const l of levels) {
      const base = plan.baseline ? baselineLevel(plan.baseline, l.key) : undefined;
      for (const t of plan.thresholds) thresholds.push(evaluateThreshold(t, l.label, reportSource(l), base ? reportSource(base) : undefined));
    }
    const summary: LoadtestSummary = {
      format: 'pay-loadtest-summary',
      version: 1,
      startedAt,
      finishedAt: isoUtc(Date.now()),
      config: plan.config,
      target: { ...opened.info, description: target.description, ...target.details() },
      levels,
      thresholds,
      passed: !aborted && thresholds.every((t) => t.pass),
      ...(aborted ? { aborted } : {}),
      environment: env,
    };
    if (opts.out) {
      try {
        writeFileSync(opts.out, `${JSON.stringify(summary, null, 2)}\n`);
      } catch (err) {
        throw invalid(`cannot write --out ${opts.out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    if (reportPath) {
      const { writeLoadtestReport } = await import('../report/loadtest-html.js');
      writeLoadtestReport(reportPath, summary, plan.baseline, `pay ${env.pay as string} at ${isoUtc(Date.now())}`);
    }
    return summary;
  } finally {
    progress.clear();
    await opened.close();
  }
}

/** `--report <file.html>`: checked (name and write access) before the run, resolved against the cwd. */
export async function reportTarget(path: string, ctx: Context): Promise<string> {
  const { reportKind, checkWritable } = await import('../report/file.js');
  const { resolve } = await import('node:path');
  reportKind(path, ['html']);
  const full = resolve(ctx.cwd, path);
  checkWritable(full);
  return full;
}

/** Formats ms for tables: 3 significant figures, µs precision at most. */
function ms(v: number): string {
  if (v >= 100) return `${Math.round(v)}`;
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function pct(fraction: number): string {
  return fraction === 0 ? '0' : `${(fraction * 100).toFixed(fraction < 0.001 ? 3 : 2)}%`;
}

/** Human and JSON output. Exit 1 when a threshold is breached or the run stopped early. */
export function presentLoadtest(s: LoadtestSummary, outPath?: string, reportPath?: string): Presentation {
  const blocks: Block[] = [];
  const cfg = s.config as { model: string; durationSec?: number; requests?: number; warmupSec: number };
  const bound = cfg.durationSec !== undefined ? `${cfg.durationSec} s` : `${fmtInt(cfg.requests ?? 0)} requests`;
  const model = cfg.model === 'closed' ? `closed model, ${bound} per level` : `open model, ${bound}`;
  blocks.push({ kind: 'text', text: `Load test: ${String(s.target.description)} (${model}, warm-up ${cfg.warmupSec} s)` });
  const routing = s.target.routing as { rule: number; split: Record<string, number>; fallbacks: number } | undefined;
  if (routing) {
    const total = Object.values(routing.split).reduce((a, b) => a + b, 0);
    const split = Object.entries(routing.split).map(([c, n]) => `${c} ${n} (${total ? ((n / total) * 100).toFixed(1) : '0.0'}%)`).join(', ');
    blocks.push({ kind: 'text', text: `Routing (rule ${routing.rule}), collects per channel, seeding included: ${split}; fallbacks ${routing.fallbacks}` });
  }

  const open = s.levels.some((l) => l.model === 'open');
  const columns = [
    { key: 'level', header: open ? 'rate' : 'level' },
    { key: 'requests', header: 'requests', align: 'right' as const },
    { key: 'rps', header: 'req/s', align: 'right' as const },
    { key: 'p50', header: 'p50 ms', align: 'right' as const },
    { key: 'p90', header: 'p90 ms', align: 'right' as const },
    { key: 'p99', header: 'p99 ms', align: 'right' as const },
    { key: 'p999', header: 'p99.9 ms', align: 'right' as const },
    { key: 'max', header: 'max ms', align: 'right' as const },
    { key: 'errors', header: 'errors', align: 'right' as const },
    ...(open
      ? [
          { key: 'late', header: 'late', align: 'right' as const },
          { key: 'notStarted', header: 'not started', align: 'right' as const },
        ]
      : [{ key: 'efficiency', header: 'efficiency', align: 'right' as const }]),
    { key: 'cpu', header: 'cpu µs/req', align: 'right' as const },
  ];
  blocks.push({
    kind: 'table',
    columns,
    rows: s.levels.map((l) => {
      const row: Record<string, Cell> = {
        level: l.label,
        requests: fmtInt(l.requests),
        rps: fmtInt(l.rps),
        p50: ms(l.latencyMs.p50),
        p90: ms(l.latencyMs.p90),
        p99: ms(l.latencyMs.p99),
        p999: ms(l.latencyMs.p99_9),
        max: ms(l.latencyMs.max),
        errors: l.errors + l.notStarted > 0 ? { text: pct(l.errorRate), tone: 'error' } : '0',
        cpu: l.client.cpuUsPerRequest.toFixed(1),
      };
      if (l.open) {
        row.late = l.open.startedLate > 0 ? { text: fmtInt(l.open.startedLate), tone: 'warn' } : '0';
        row.notStarted = l.open.notStarted > 0 ? { text: fmtInt(l.open.notStarted), tone: 'error' } : '0';
      } else row.efficiency = l.efficiency !== undefined ? `${Math.round(l.efficiency * 100)}%` : '';
      return row;
    }),
  });

  for (const l of s.levels) {
    if (l.open) {
      const o = l.open;
      blocks.push({
        kind: 'text',
        tone: o.startedLate > 0 || o.notStarted > 0 ? 'warn' : 'dim',
        text:
          `${l.label}: ${fmtInt(o.scheduled)} scheduled, ${fmtInt(o.started)} started (${fmtInt(o.startRate)}/s), ` +
          `${fmtInt(o.startedLate)} started late (${fmtInt(o.lateDueToCap)} held by --max-in-flight ${l.maxInFlight}), ${fmtInt(o.notStarted)} not started; ` +
          `start lag p99 ${ms(o.startLagMs.p99)} ms, max ${ms(o.startLagMs.max)} ms. Latency counts from the intended start.`,
      });
    }
    const codes = Object.entries(l.errorsByCode);
    if (codes.length > 0) {
      blocks.push({
        kind: 'table',
        title: `Errors${s.levels.length > 1 ? ` (${l.label})` : ''}`,
        columns: [
          { key: 'code', header: 'code' },
          { key: 'count', header: 'count', align: 'right' },
          { key: 'sample', header: 'first message' },
        ],
        rows: codes.map(([code, t]) => ({ code: { text: code, tone: 'error' }, count: fmtInt(t.count), sample: t.sample.length > 100 ? `${t.sample.slice(0, 100)}…` : t.sample })),
      });
    }
  }

  const busiest = s.levels.reduce((m, l) => Math.max(m, l.client.eventLoopUtilization), 0);
  // In-process targets share the loop by design; the warning is for targets across the network.
  if (busiest > 0.9 && s.target.where !== 'in-process') {
    blocks.push({ kind: 'text', tone: 'warn', text: `The generator's event loop was ${Math.round(busiest * 100)}% busy: the client, not the target, may be the limit. Compare with fewer workers or another machine.` });
  }

  if (s.thresholds.length > 0) {
    const unit = (v: number, u: string) => (u === 'ms' ? `${ms(v)} ms` : u === '%' ? `${v}%` : `${fmtInt(v)} req/s`);
    blocks.push({
      kind: 'table',
      title: 'Thresholds',
      columns: [
        { key: 'expr', header: 'threshold' },
        { key: 'level', header: 'level' },
        { key: 'actual', header: 'actual', align: 'right' },
        { key: 'limit', header: 'limit', align: 'right' },
        { key: 'result', header: 'result' },
      ],
      rows: s.thresholds.map((t) => ({
        expr: t.expr,
        level: t.level,
        actual: t.note ? '' : unit(t.actual, t.unit),
        limit: t.note ? t.note : `${unit(t.limit, t.unit)}${t.baseline !== undefined ? ` (baseline ${unit(t.baseline, t.unit)})` : ''}`,
        result: t.pass ? { text: 'pass', tone: 'ok' } : { text: 'FAIL', tone: 'error' },
      })),
    });
  }
  const failed = s.thresholds.filter((t) => !t.pass).length;
  if (s.aborted) blocks.push({ kind: 'text', tone: 'error', text: `Stopped early during ${s.aborted.level}: ${s.aborted.reason}.` });
  if (s.thresholds.length > 0) {
    blocks.push(
      failed === 0
        ? { kind: 'text', tone: 'ok', text: `PASS: ${s.thresholds.length} threshold${s.thresholds.length === 1 ? '' : 's'} met.` }
        : { kind: 'text', tone: 'error', text: `FAIL: ${failed} of ${s.thresholds.length} threshold results breached.` },
    );
  }
  if (outPath) blocks.push({ kind: 'text', tone: 'dim', text: `Summary written to ${outPath}` });
  if (reportPath) blocks.push({ kind: 'text', tone: 'dim', text: `Report written to ${reportPath}` });
  return { json: s, blocks, exitCode: s.passed ? 0 : 1 };
}
