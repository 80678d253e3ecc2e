/**
 * Routing glue for commands: loads the `routing` rules of the config (a profile's own rules
 * replace the top-level ones), checks them against the channels' descriptions, reads recent
 * health from the statistics store, and plans a payment's targets (core/routing does the
 * deciding).
 */
import { configError, invalid, isPayError } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { findRule, parseRouting, planRoute, type ChannelFacts, type RoutePlan, type RouteRequest, type RoutingConfig } from '../core/routing.js';
import { isoUtc } from '../core/time.js';
import type { ChannelDescription } from '../channel/contract.js';
import type { Context } from './context.js';

export { certainlyNotSent } from '../channel/http-client.js';

/** Loaded rules and what routing knows about their channels. */
export interface LoadedRouting {
  config: RoutingConfig;
  /** Where the rules came from (`routing` or `profiles.<name>.routing`). */
  source: string;
  facts: Map<string, ChannelFacts & { aliases?: Record<string, string> }>;
}

function factsOf(d: ChannelDescription): ChannelFacts & { aliases?: Record<string, string> } {
  const methods = d.methods ? [...d.methods, ...Object.keys(d.methodAliases ?? {})] : undefined;
  return { currencies: d.currencies, methods, aliases: d.methodAliases };
}

/** Reads and checks the routing rules in effect; CONFIG_ERROR (exit 2) when absent or wrong. */
export async function loadRouting(ctx: Context): Promise<LoadedRouting> {
  const loaded = ctx.config();
  const profile = ctx.profile ? loaded.config.profiles[ctx.profile] : undefined;
  if (ctx.profile && !profile && loaded.exists) {
    throw configError(`profile "${ctx.profile}" is not in ${loaded.path}`, { hint: `Profiles defined: ${Object.keys(loaded.config.profiles).join(', ') || 'none'}.` });
  }
  const own = profile?.routing;
  const raw = own ?? loaded.config.routing;
  const source = own !== undefined ? `profiles.${ctx.profile}.routing` : 'routing';
  if (raw === undefined) {
    throw configError(`--channel auto needs routing rules, and ${loaded.exists ? loaded.path : 'the config (no config file found)'} has none`, {
      hint: 'Add a top-level "routing": { "rules": [ { "match": {...}, "targets": [...] } ] } (see "Routing" in the README).',
    });
  }
  // Channel facts for every channel the rules name (unknown ones stay absent: parseRouting names them).
  const { loadChannelModule } = await import('../channel/registry.js');
  const names = new Set<string>();
  for (const r of (raw as { rules?: unknown[] })?.rules ?? []) {
    for (const t of (r as { targets?: unknown[] })?.targets ?? []) {
      const c = (t as { channel?: unknown })?.channel;
      if (typeof c === 'string' && c !== '') names.add(c);
    }
  }
  const facts = new Map<string, ChannelFacts & { aliases?: Record<string, string> }>();
  for (const name of names) {
    try {
      facts.set(name, factsOf((await loadChannelModule(name, { config: loaded, cwd: ctx.cwd })).description));
    } catch (err) {
      if (!isPayError(err) || err.code !== 'INVALID_REQUEST') throw err;
    }
  }
  const config = parseRouting(raw, (c) => facts.get(c), source);
  return { config, source, facts };
}

/** Plans a payment: the first matching rule, its targets ordered; INVALID_REQUEST when none matches. */
export async function planPayment(ctx: Context, routing: LoadedRouting, req: RouteRequest, random: () => number): Promise<RoutePlan> {
  const rule = findRule(routing.config, req);
  if (!rule) {
    throw invalid(`no routing rule matches ${formatAmount(req.amountMinor, req.currency)} ${req.currency}${req.method ? ` by ${req.method}` : ''}`, {
      hint: `Add a rule for it to ${routing.source}, or name a channel with --channel. \`pay routes list\` shows the rules.`,
    });
  }
  let figures: Map<string, { calls: number; failures: number }> | undefined;
  const h = routing.config.health;
  if (h) {
    const stats = await ctx.stats();
    figures = await stats.channelHealth(
      rule.targets.map((t) => t.channel),
      isoUtc(ctx.clock() - h.windowMs),
    );
  }
  return planRoute(routing.config, rule, req, { random, health: (c) => figures?.get(c), facts: (c) => routing.facts.get(c) });
}

/** The channel's own name for a method a rule used (`qr` is WeChat Pay's `native`). */
export function channelMethod(routing: LoadedRouting, channel: string, method: string | undefined): string | undefined {
  return method === undefined ? undefined : routing.facts.get(channel)?.aliases?.[method] ?? method;
}
