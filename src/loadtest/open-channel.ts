/**
 * The `--channel` target of `pay loadtest`: opens the channel (or, with `--channel auto`, every
 * target of the matching routing rule) through its adapter, refuses a live endpoint without
 * --allow-live, finds a sandbox payer, and records orders only into an explicit `--db`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid } from '../core/errors.js';
import { normalizeCurrency, parseAmount, formatAmount } from '../core/money.js';
import { isoUtc } from '../core/time.js';
import type { Capability, ChannelCallRecord } from '../channel/contract.js';
import type { Context } from '../commands/context.js';
import { required } from '../commands/prompt.js';
import { DEFAULT_MIX, type ChannelCalls, type LoadOp, type OpMix } from './channel-target.js';
import { channelBaseUrl, isLoopbackHost } from './loopback.js';
import { DEFAULT_SEED_ORDERS, OPS, parseMix, positiveInt, type LoadtestOptions, type Plan } from './options.js';
import { storeCalls } from './recorded-calls.js';
import { sandboxControl } from './sandbox-control.js';
import type { OpenedTarget } from './target.js';

function defaultCurrency(channel: string): string {
  return channel === 'stripe' || channel === 'paypal' ? 'USD' : 'CNY';
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

/** Opens the `--channel` target after checking the flags that apply to it. */
export async function openChannelTarget(opts: LoadtestOptions, plan: Plan, ctx: Context, notice: (message: string) => void): Promise<OpenedTarget> {
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
  const routing = channelRef === 'auto' ? await (await import('../commands/route-plan.js')).loadRouting(ctx) : undefined;
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
    const { ChannelTarget } = await import('./channel-target.js');
    let calls = channels[0].calls;
    let payOrder = channels[0].sandbox?.pay;
    let routed: import('./routed-calls.js').RoutedCalls | undefined;
    if (routing && rule) {
      const { RoutedCalls } = await import('./routed-calls.js');
      const { seededRandom } = await import('../core/routing.js');
      const { channelMethod } = await import('../commands/route-plan.js');
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
