/**
 * Routing rules for `--channel auto`: parsing and checking them, finding the rule a payment
 * matches, and ordering that rule's targets. Pure: channel facts and health figures come in as
 * arguments, randomness from a seeded generator.
 *
 *   "routing": { "rules": [
 *     { "match": { "currency": "CNY", "method": "qr" },
 *       "targets": [ { "channel": "alipay", "weight": 70 }, { "channel": "wechatpay", "weight": 30 } ] },
 *     { "match": { "currency": ["USD", "EUR"], "maxAmount": "5000.00" },
 *       "targets": [ { "channel": "stripe", "priority": 1 }, { "channel": "paypal", "priority": 2 } ] }
 *   ], "fallback": true, "health": { "window": "15m", "minSuccessRate": 0.9, "minCalls": 20 } }
 *
 * The first rule whose match holds wins. Its enabled targets are tried by priority (lower first);
 * among equal priorities the order is a weighted draw without replacement. A target whose recent
 * success rate is under `health.minSuccessRate` (with at least `minCalls` calls in `window`) is
 * skipped until the rate recovers.
 */
import { configError } from './errors.js';
import { normalizeCurrency, parseAmount } from './money.js';

export { seededRandom } from './random.js';

/** One target of a rule. */
export interface RouteTarget {
  channel: string;
  /** Share among targets of equal priority (default 1). */
  weight: number;
  /** Lower goes first (default 1). */
  priority: number;
  enabled: boolean;
}

/** What a rule matches; absent fields match anything. */
export interface RouteMatch {
  currencies?: string[];
  methods?: string[];
  /** Decimal strings, read in the payment's currency. */
  minAmount?: string;
  maxAmount?: string;
}

export interface RouteRule {
  /** 1-based position in `routing.rules`, for messages. */
  position: number;
  match: RouteMatch;
  targets: RouteTarget[];
}

/** Health check settings. */
export interface HealthSettings {
  windowMs: number;
  /** As written (`15m`). */
  window: string;
  minSuccessRate: number;
  minCalls: number;
}

export interface RoutingConfig {
  rules: RouteRule[];
  /** Try the next target after a failure known to have changed nothing (default true). */
  fallback: boolean;
  /** Absent: no health skipping. */
  health?: HealthSettings;
}

/** What routing needs to know about a channel (from its description); undefined: no such channel. */
export interface ChannelFacts {
  /** Currencies it takes; undefined: any. */
  currencies?: readonly string[];
  /** `--method` values it takes; undefined: any. */
  methods?: readonly string[];
}

/** A payment to route. */
export interface RouteRequest {
  amountMinor: number;
  currency: string;
  method?: string;
}

/** Recent health of a channel. */
export interface HealthFigures {
  calls: number;
  failures: number;
}

/** A target as planned, with why it is where it is. */
export interface PlannedTarget {
  channel: string;
  priority: number;
  weight: number;
  /** Share of its priority group's traffic (weight / group total), 0..1. */
  share: number;
  health?: HealthFigures & { successRate: number };
}

/** A target left out, and why. */
export interface SkippedTarget {
  channel: string;
  reason: 'disabled' | 'unhealthy' | 'method';
  detail: string;
  health?: HealthFigures & { successRate: number };
}

/** The routing decision for one payment. */
export interface RoutePlan {
  rule: RouteRule;
  /** Targets in the order they will be tried. */
  order: PlannedTarget[];
  skipped: SkippedTarget[];
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `15m`, `30s`, `1h`, `2d`, `500ms` to ms; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function list(v: unknown, what: string, fail: (m: string) => never): string[] | undefined {
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0 || items.some((x) => typeof x !== 'string' || x === '')) fail(`${what} must be a string or a non-empty list of strings`);
  return items as string[];
}

/**
 * Checks `routing` as written in the config and returns it typed with defaults applied. Throws
 * CONFIG_ERROR (exit 2) naming the rule's position for an unknown channel, a weight that is not
 * positive, or a channel that cannot take a currency the rule matches.
 */
export function parseRouting(raw: unknown, facts: (channel: string) => ChannelFacts | undefined, where = 'routing'): RoutingConfig {
  const top = (m: string): never => {
    throw configError(`${where}: ${m}`, { hint: 'See "Routing" in the README for the shape of routing rules.' });
  };
  if (!isObject(raw)) top('must be an object with "rules"');
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.rules) || r.rules.length === 0) top('"rules" must be a non-empty list');
  if (r.fallback !== undefined && typeof r.fallback !== 'boolean') top('"fallback" must be true or false');
  const rules = (r.rules as unknown[]).map((rawRule, i) => parseRule(rawRule, i + 1, facts, where));
  let health: HealthSettings | undefined;
  if (r.health !== undefined) {
    if (!isObject(r.health)) top('"health" must be an object');
    const h = r.health as Record<string, unknown>;
    const window = h.window === undefined ? '15m' : h.window;
    const windowMs = typeof window === 'string' ? parseDuration(window) : undefined;
    if (!windowMs) top(`health.window must be a duration such as "15m" (got ${JSON.stringify(window)})`);
    const minSuccessRate = h.minSuccessRate === undefined ? 0.9 : h.minSuccessRate;
    if (typeof minSuccessRate !== 'number' || !(minSuccessRate >= 0 && minSuccessRate <= 1)) top('health.minSuccessRate must be a number from 0 to 1');
    const minCalls = h.minCalls === undefined ? 20 : h.minCalls;
    if (typeof minCalls !== 'number' || !Number.isInteger(minCalls) || minCalls < 1) top('health.minCalls must be a whole number of at least 1');
    health = { window: window as string, windowMs: windowMs!, minSuccessRate: minSuccessRate as number, minCalls: minCalls as number };
  }
  return { rules, fallback: r.fallback !== false, ...(health ? { health } : {}) };
}

function parseRule(raw: unknown, position: number, facts: (channel: string) => ChannelFacts | undefined, where: string): RouteRule {
  const at = `${where}.rules[${position - 1}] (rule ${position})`;
  const fail = (m: string): never => {
    throw configError(`${at}: ${m}`, { hint: 'Fix the rule in pay.config.json; `pay routes list` shows the rules once they load.' });
  };
  if (!isObject(raw)) fail('must be an object with "match" and "targets"');
  const rule = raw as Record<string, unknown>;
  const m = rule.match === undefined ? {} : rule.match;
  if (!isObject(m)) fail('"match" must be an object');
  const mm = m as Record<string, unknown>;
  const unknown = Object.keys(mm).filter((k) => !['currency', 'method', 'minAmount', 'maxAmount'].includes(k));
  if (unknown.length) fail(`"match" has unknown key ${unknown.map((k) => `"${k}"`).join(', ')} (keys: currency, method, minAmount, maxAmount)`);
  const match: RouteMatch = {};
  const currencies = list(mm.currency, '"match.currency"', fail);
  if (currencies) {
    match.currencies = currencies.map((c) => {
      try {
        return normalizeCurrency(c);
      } catch {
        return fail(`"match.currency" has an unknown currency "${c}"`);
      }
    });
  }
  const methods = list(mm.method, '"match.method"', fail);
  if (methods) match.methods = methods;
  for (const key of ['minAmount', 'maxAmount'] as const) {
    const v = mm[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^\d+(\.\d+)?$/.test(v)) fail(`"match.${key}" must be a decimal string such as "5000.00"`);
    for (const c of match.currencies ?? []) {
      try {
        parseAmount(v as string, c, { allowZero: true });
      } catch (err) {
        fail(`"match.${key}" ${(err as Error).message}`);
      }
    }
    match[key] = v as string;
  }
  if (!Array.isArray(rule.targets) || rule.targets.length === 0) fail('"targets" must be a non-empty list');
  const seen = new Set<string>();
  const targets = (rule.targets as unknown[]).map((t, j) => {
    const tat = `target ${j + 1}`;
    if (!isObject(t)) return fail(`${tat} must be an object with "channel"`);
    const channel = t.channel;
    if (typeof channel !== 'string' || channel === '') return fail(`${tat} needs a "channel"`);
    if (channel === 'auto') return fail(`${tat}: "auto" cannot be a target`);
    if (seen.has(channel)) fail(`${tat}: channel ${channel} is listed twice`);
    seen.add(channel);
    const f = facts(channel);
    if (!f) return fail(`${tat}: unknown channel "${channel}"`);
    if (t.weight !== undefined && (typeof t.weight !== 'number' || !Number.isFinite(t.weight) || t.weight <= 0)) fail(`${tat} (${channel}): weight must be a positive number (got ${JSON.stringify(t.weight)})`);
    if (t.priority !== undefined && (typeof t.priority !== 'number' || !Number.isInteger(t.priority) || t.priority < 0)) fail(`${tat} (${channel}): priority must be a whole number of 0 or more`);
    if (t.enabled !== undefined && typeof t.enabled !== 'boolean') fail(`${tat} (${channel}): enabled must be true or false`);
    const unknownKeys = Object.keys(t).filter((k) => !['channel', 'weight', 'priority', 'enabled'].includes(k));
    if (unknownKeys.length) fail(`${tat} (${channel}) has unknown key ${unknownKeys.map((k) => `"${k}"`).join(', ')}`);
    if (f.currencies && match.currencies) {
      const cannot = match.currencies.filter((c) => !f.currencies!.includes(c));
      if (cannot.length) fail(`${tat}: channel ${channel} cannot take ${cannot.join(', ')} (it takes ${f.currencies.slice(0, 8).join(', ')}${f.currencies.length > 8 ? ', ...' : ''})`);
    }
    if (f.methods && match.methods) {
      const cannot = match.methods.filter((x) => !f.methods!.includes(x));
      if (cannot.length) fail(`${tat}: channel ${channel} has no method ${cannot.join(', ')} (methods: ${f.methods.join(', ')})`);
    }
    return { channel, weight: (t.weight as number | undefined) ?? 1, priority: (t.priority as number | undefined) ?? 1, enabled: t.enabled !== false };
  });
  return { position, match, targets };
}

/** True when `rule` matches the payment. */
export function ruleMatches(rule: RouteRule, req: RouteRequest): boolean {
  const m = rule.match;
  if (m.currencies && !m.currencies.includes(req.currency)) return false;
  if (m.methods && (req.method === undefined || !m.methods.includes(req.method))) return false;
  if (m.minAmount !== undefined && req.amountMinor < parseAmount(m.minAmount, req.currency, { allowZero: true })) return false;
  if (m.maxAmount !== undefined && req.amountMinor > parseAmount(m.maxAmount, req.currency, { allowZero: true })) return false;
  return true;
}

/** The first rule matching the payment, if any. */
export function findRule(config: RoutingConfig, req: RouteRequest): RouteRule | undefined {
  return config.rules.find((r) => ruleMatches(r, req));
}

/** Orders targets by weighted draws without replacement. */
function weightedOrder<T extends { weight: number }>(items: T[], random: () => number): T[] {
  const left = [...items];
  const out: T[] = [];
  while (left.length) {
    const total = left.reduce((s, t) => s + t.weight, 0);
    let r = random() * total;
    let i = 0;
    for (; i < left.length - 1; i++) {
      r -= left[i].weight;
      if (r < 0) break;
    }
    out.push(left.splice(i, 1)[0]);
  }
  return out;
}

/** Options for {@link planRoute}. */
export interface PlanOptions {
  random: () => number;
  /** Recent figures per channel (only consulted when the config has `health`). */
  health?: (channel: string) => HealthFigures | undefined;
  facts?: (channel: string) => ChannelFacts | undefined;
}

/** Orders a rule's targets for one payment: priority, then a weighted draw; disabled and unhealthy ones left out. */
export function planRoute(config: RoutingConfig, rule: RouteRule, req: RouteRequest, options: PlanOptions): RoutePlan {
  const skipped: SkippedTarget[] = [];
  const live: (RouteTarget & { health?: PlannedTarget['health'] })[] = [];
  for (const t of rule.targets) {
    if (!t.enabled) {
      skipped.push({ channel: t.channel, reason: 'disabled', detail: 'enabled: false' });
      continue;
    }
    const methods = options.facts?.(t.channel)?.methods;
    if (req.method && methods && !methods.includes(req.method)) {
      skipped.push({ channel: t.channel, reason: 'method', detail: `no method ${req.method}` });
      continue;
    }
    let health: PlannedTarget['health'];
    if (config.health) {
      const f = options.health?.(t.channel) ?? { calls: 0, failures: 0 };
      health = { ...f, successRate: f.calls ? (f.calls - f.failures) / f.calls : 1 };
      if (f.calls >= config.health.minCalls && health.successRate < config.health.minSuccessRate) {
        skipped.push({
          channel: t.channel,
          reason: 'unhealthy',
          detail: `success rate ${(health.successRate * 100).toFixed(1)}% over ${f.calls} calls in the last ${config.health.window} is under ${(config.health.minSuccessRate * 100).toFixed(1)}%`,
          health,
        });
        continue;
      }
    }
    live.push({ ...t, health });
  }
  const priorities = [...new Set(live.map((t) => t.priority))].sort((a, b) => a - b);
  const order: PlannedTarget[] = [];
  for (const p of priorities) {
    const group = live.filter((t) => t.priority === p);
    const total = group.reduce((s, t) => s + t.weight, 0);
    for (const t of weightedOrder(group, options.random)) {
      order.push({ channel: t.channel, priority: t.priority, weight: t.weight, share: t.weight / total, ...(t.health ? { health: t.health } : {}) });
    }
  }
  return { rule, order, skipped };
}
