/**
 * `pay routes list` shows the routing rules in effect; `pay routes explain` shows which target a
 * payment would go to and why: the rule that matches, the targets in the order they would be
 * tried with their priority, weight and share, and the health figures that skip a target.
 */
import { isPayError } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { seededRandom, type RoutePlan, type RouteRule } from '../core/routing.js';
import { percent as pct, type Presentation } from '../output/render.js';
import type { Context } from './context.js';
import { amountAndCurrency } from './create.js';
import { loadRouting, planPayment, type LoadedRouting } from './route-plan.js';

export interface RoutesListResult {
  routing: LoadedRouting;
}

/** The rules in effect (checked as `--channel auto` checks them). */
export async function routesList(ctx: Context): Promise<RoutesListResult> {
  return { routing: await loadRouting(ctx) };
}

function matchText(r: RouteRule): string {
  const m = r.match;
  const parts: string[] = [];
  if (m.currencies) parts.push(m.currencies.join('|'));
  if (m.methods) parts.push(`method ${m.methods.join('|')}`);
  if (m.minAmount) parts.push(`>= ${m.minAmount}`);
  if (m.maxAmount) parts.push(`<= ${m.maxAmount}`);
  return parts.length ? parts.join(', ') : 'anything';
}

function ruleJson(r: RouteRule): Record<string, unknown> {
  return { position: r.position, match: r.match, targets: r.targets };
}

export function presentRoutesList(r: RoutesListResult): Presentation {
  const c = r.routing.config;
  return {
    json: { source: r.routing.source, fallback: c.fallback, health: c.health ? { window: c.health.window, minSuccessRate: c.health.minSuccessRate, minCalls: c.health.minCalls } : null, rules: c.rules.map(ruleJson) },
    blocks: [
      {
        kind: 'table',
        title: `Routing rules (${r.routing.source}; first match wins)`,
        columns: [
          { key: 'n', header: '#', align: 'right' },
          { key: 'match', header: 'match' },
          { key: 'targets', header: 'targets (priority, weight)' },
        ],
        rows: c.rules.map((rule) => ({
          n: rule.position,
          match: matchText(rule),
          targets: rule.targets.map((t) => `${t.channel} p${t.priority} w${t.weight}${t.enabled ? '' : ' (disabled)'}`).join(', '),
        })),
      },
      {
        kind: 'text',
        tone: 'dim',
        text: `Fallback ${c.fallback ? 'on (only after a failure that certainly did nothing)' : 'off'}; health ${c.health ? `skips a target under ${c.health.minSuccessRate * 100}% success over at least ${c.health.minCalls} calls in ${c.health.window}` : 'not checked'}.`,
      },
    ],
  };
}

export interface ExplainOptions {
  amount?: string;
  currency?: string;
  method?: string;
  seed?: string;
}

export interface ExplainResult {
  amountMinor: number;
  currency: string;
  method?: string;
  plan?: RoutePlan;
  /** Why nothing matched. */
  noMatch?: string;
  health?: LoadedRouting['config']['health'];
}

/** Which target a payment would go to, and why. */
export async function routesExplain(opts: ExplainOptions, ctx: Context): Promise<ExplainResult> {
  const { amountMinor, currency } = await amountAndCurrency(ctx, opts);
  const routing = await loadRouting(ctx);
  const seed = opts.seed === undefined ? undefined : Number(opts.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw (await import('../core/errors.js')).invalid(`--seed must be a whole number (got "${opts.seed}")`);
  try {
    const plan = await planPayment(ctx, routing, { amountMinor, currency, method: opts.method }, seed === undefined ? Math.random : seededRandom(seed));
    return { amountMinor, currency, method: opts.method, plan, health: routing.config.health };
  } catch (err) {
    if (isPayError(err) && err.code === 'INVALID_REQUEST' && /no routing rule/.test(err.message)) return { amountMinor, currency, method: opts.method, noMatch: err.message };
    throw err;
  }
}


export function presentRoutesExplain(r: ExplainResult): Presentation {
  const what = `${formatAmount(r.amountMinor, r.currency)} ${r.currency}${r.method ? ` by ${r.method}` : ''}`;
  if (!r.plan) {
    return { json: { amount: formatAmount(r.amountMinor, r.currency), amountMinor: r.amountMinor, currency: r.currency, method: r.method ?? null, matched: false, reason: r.noMatch }, blocks: [{ kind: 'text', tone: 'warn', text: `${r.noMatch}.` }], exitCode: 1 };
  }
  const p = r.plan;
  const chosen = p.order[0]?.channel;
  const healthCell = (h?: { calls: number; failures: number; successRate: number }) => (!h ? '' : h.calls === 0 ? 'no calls' : `${pct(h.successRate)} of ${h.calls}`);
  return {
    json: {
      amount: formatAmount(r.amountMinor, r.currency),
      amountMinor: r.amountMinor,
      currency: r.currency,
      method: r.method ?? null,
      matched: true,
      rule: ruleJson(p.rule),
      chosen: chosen ?? null,
      order: p.order,
      skipped: p.skipped,
      health: r.health ? { window: r.health.window, minSuccessRate: r.health.minSuccessRate, minCalls: r.health.minCalls } : null,
    },
    blocks: [
      { kind: 'text', tone: chosen ? 'ok' : 'warn', text: chosen ? `${what}: rule ${p.rule.position} (${matchText(p.rule)}) -> ${chosen}` : `${what}: rule ${p.rule.position} matches, but no target can be tried.` },
      {
        kind: 'table',
        title: 'Targets in the order they would be tried (a weighted draw among equal priorities)',
        columns: [
          { key: 'n', header: '#', align: 'right' },
          { key: 'channel', header: 'channel' },
          { key: 'priority', header: 'priority', align: 'right' },
          { key: 'weight', header: 'weight', align: 'right' },
          { key: 'share', header: 'share', align: 'right' },
          { key: 'health', header: r.health ? `success (${r.health.window})` : 'health' },
        ],
        rows: [
          ...p.order.map((t, i) => ({ n: i + 1, channel: t.channel, priority: t.priority, weight: t.weight, share: pct(t.share), health: healthCell(t.health) })),
          ...p.skipped.map((s) => ({ n: '-', channel: `${s.channel} (skipped: ${s.detail})`, priority: '', weight: '', share: '', health: healthCell(s.health) })),
        ],
      },
    ],
  };
}
