/**
 * Routing rules (core/routing): loading and refusing rules with their position, matching, the
 * weighted split over 10,000 seeded draws, priorities, disabled targets, and the health skip.
 */
import { describe, expect, it } from 'vitest';
import { certainlyNotSent } from '../../src/channel/http-client.js';
import { classifyNetworkError } from '../../src/channel/undici-http-client.js';
import { PayError } from '../../src/core/errors.js';
import { findRule, parseRouting, planRoute, seededRandom, type ChannelFacts } from '../../src/core/routing.js';

const FACTS: Record<string, ChannelFacts> = {
  mock: { methods: ['qr'] },
  alipay: { methods: ['qr', 'page', 'wap'] },
  wechatpay: { methods: ['native', 'jsapi', 'h5', 'qr'], currencies: ['CNY'] },
  stripe: { methods: ['card', 'automatic'] },
  paypal: { methods: ['paypal'], currencies: ['USD', 'EUR', 'JPY'] },
  unionpay: { methods: ['web', 'app'], currencies: ['CNY'] },
};
const facts = (c: string) => FACTS[c];

/** The example of issue 17. */
const EXAMPLE = {
  rules: [
    { match: { currency: 'CNY', method: 'qr' }, targets: [{ channel: 'alipay', weight: 70 }, { channel: 'wechatpay', weight: 30 }] },
    { match: { currency: ['USD', 'EUR'], maxAmount: '5000.00' }, targets: [{ channel: 'stripe', priority: 1 }, { channel: 'paypal', priority: 2 }] },
  ],
  fallback: true,
  health: { window: '15m', minSuccessRate: 0.9, minCalls: 20 },
};

function refusal(raw: unknown): string {
  try {
    parseRouting(raw, facts);
  } catch (err) {
    expect((err as { code: string }).code).toBe('CONFIG_ERROR');
    return (err as Error).message;
  }
  throw new Error('expected the rules to be refused');
}

describe('loading rules', () => {
  it('loads the issue example with defaults', () => {
    const r = parseRouting(EXAMPLE, facts);
    expect(r.fallback).toBe(true);
    expect(r.health).toEqual({ window: '15m', windowMs: 900_000, minSuccessRate: 0.9, minCalls: 20 });
    expect(r.rules[0].targets).toEqual([
      { channel: 'alipay', weight: 70, priority: 1, enabled: true },
      { channel: 'wechatpay', weight: 30, priority: 1, enabled: true },
    ]);
    expect(r.rules[1].match).toEqual({ currencies: ['USD', 'EUR'], maxAmount: '5000.00' });
  });

  it('refuses bad rules naming their position', () => {
    expect(refusal({ rules: [EXAMPLE.rules[0], { targets: [{ channel: 'nosuch' }] }] })).toMatch(/routing\.rules\[1\] \(rule 2\): target 1: unknown channel "nosuch"/);
    expect(refusal({ rules: [{ targets: [{ channel: 'mock', weight: 0 }] }] })).toMatch(/rule 1.*weight must be a positive number/);
    expect(refusal({ rules: [{ targets: [{ channel: 'mock', weight: -3 }] }] })).toMatch(/weight must be a positive number/);
    expect(refusal({ rules: [{ targets: [{ channel: 'mock', weight: '70' }] }] })).toMatch(/weight must be a positive number/);
    expect(refusal({ rules: [EXAMPLE.rules[0], EXAMPLE.rules[0], { match: { currency: 'USD' }, targets: [{ channel: 'wechatpay' }] }] })).toMatch(
      /rule 3\): target 1: channel wechatpay cannot take USD/,
    );
    expect(refusal({ rules: [{ match: { currency: 'CNY', method: 'card' }, targets: [{ channel: 'alipay' }] }] })).toMatch(/alipay has no method card/);
    expect(refusal({ rules: [] })).toMatch(/non-empty/);
    expect(refusal({ rules: [{ match: { amount: 1 }, targets: [{ channel: 'mock' }] }] })).toMatch(/unknown key "amount"/);
    expect(refusal({ rules: [{ match: { currency: 'JPY', maxAmount: '10.5' }, targets: [{ channel: 'mock' }] }] })).toMatch(/maxAmount/);
    expect(refusal({ ...EXAMPLE, health: { window: 'soon' } })).toMatch(/health\.window/);
  });
});

describe('matching', () => {
  const r = parseRouting(EXAMPLE, facts);
  it('takes the first rule that matches currency, method and amount', () => {
    expect(findRule(r, { amountMinor: 12000, currency: 'CNY', method: 'qr' })?.position).toBe(1);
    expect(findRule(r, { amountMinor: 12000, currency: 'CNY' })).toBeUndefined();
    expect(findRule(r, { amountMinor: 500000, currency: 'USD' })?.position).toBe(2);
    expect(findRule(r, { amountMinor: 500001, currency: 'USD' })).toBeUndefined();
    expect(findRule(r, { amountMinor: 100, currency: 'GBP' })).toBeUndefined();
  });
});

describe('planning', () => {
  const r = parseRouting(EXAMPLE, facts);
  const cny = { amountMinor: 12000, currency: 'CNY', method: 'qr' };

  it('splits 70/30 within a percentage point over 10,000 seeded draws, the same every time', () => {
    const run = () => {
      const random = seededRandom(42);
      const counts: Record<string, number> = {};
      for (let i = 0; i < 10_000; i++) {
        const first = planRoute(r, r.rules[0], cny, { random }).order[0].channel;
        counts[first] = (counts[first] ?? 0) + 1;
      }
      return counts;
    };
    const counts = run();
    expect(Math.abs(counts.alipay / 10_000 - 0.7)).toBeLessThan(0.01);
    expect(Math.abs(counts.wechatpay / 10_000 - 0.3)).toBeLessThan(0.01);
    expect(run()).toEqual(counts);
  });

  it('tries priorities in order, and the rest of a group after its first draw', () => {
    const p = planRoute(r, r.rules[1], { amountMinor: 100, currency: 'USD' }, { random: seededRandom(1) });
    expect(p.order.map((t) => t.channel)).toEqual(['stripe', 'paypal']);
    const both = planRoute(r, r.rules[0], cny, { random: () => 0.99 });
    expect(both.order.map((t) => t.channel)).toEqual(['wechatpay', 'alipay']);
    expect(both.order.map((t) => t.share)).toEqual([0.3, 0.7]);
  });

  it('skips disabled targets', () => {
    const d = parseRouting({ rules: [{ targets: [{ channel: 'alipay', enabled: false }, { channel: 'mock' }] }] }, facts);
    const p = planRoute(d, d.rules[0], cny, { random: Math.random });
    expect(p.order.map((t) => t.channel)).toEqual(['mock']);
    expect(p.skipped).toMatchObject([{ channel: 'alipay', reason: 'disabled' }]);
  });

  it('skips a target under the success rate with enough calls, and takes it back when it recovers', () => {
    const figures: Record<string, { calls: number; failures: number }> = { alipay: { calls: 40, failures: 8 } };
    const plan = () => planRoute(r, r.rules[0], cny, { random: seededRandom(7), health: (c) => figures[c] });
    expect(plan().order.map((t) => t.channel)).toEqual(['wechatpay']);
    expect(plan().skipped[0]).toMatchObject({ channel: 'alipay', reason: 'unhealthy', health: { calls: 40, failures: 8, successRate: 0.8 } });
    figures.alipay = { calls: 40, failures: 4 }; // 90%: at the threshold, healthy again
    expect(plan().order.map((t) => t.channel).sort()).toEqual(['alipay', 'wechatpay']);
    figures.alipay = { calls: 19, failures: 19 }; // too few calls to judge
    expect(plan().skipped).toEqual([]);
  });
});

describe('certainlyNotSent: fallback only when the attempt did nothing', () => {
  const c = { operation: 'collect', method: 'POST', origin: 'http://127.0.0.1:1', attempts: 1, headersTimeoutMs: 1000, bodyTimeoutMs: 1000, connectTimeoutMs: 1000, proxied: false };
  const net = (code: string) => classifyNetworkError(Object.assign(new Error(code), { code }), c);
  it.each([
    ['ECONNREFUSED', true],
    ['ENOTFOUND', true],
    ['EHOSTUNREACH', true],
    ['UND_ERR_CONNECT_TIMEOUT', true],
    ['UND_ERR_HEADERS_TIMEOUT', false],
    ['UND_ERR_BODY_TIMEOUT', false],
    ['ECONNRESET', false],
  ])('%s -> %s', (code, expected) => {
    expect(certainlyNotSent(net(code))).toBe(expected);
  });
  it('429 and 503 after retries are no-ops; 500, 502 and channel answers are not', () => {
    expect(certainlyNotSent(new PayError('RATE_LIMITED', 'x', { httpStatus: 429 }))).toBe(true);
    expect(certainlyNotSent(new PayError('SYSTEM_ERROR', 'x', { httpStatus: 503 }))).toBe(true);
    expect(certainlyNotSent(new PayError('SYSTEM_ERROR', 'x', { httpStatus: 500 }))).toBe(false);
    expect(certainlyNotSent(new PayError('SYSTEM_ERROR', 'x', { httpStatus: 502 }))).toBe(false);
    expect(certainlyNotSent(new PayError('INVALID_REQUEST', 'x', { httpStatus: 400 }))).toBe(false);
    expect(certainlyNotSent(new PayError('CONFIG_ERROR', 'x'))).toBe(true);
    expect(certainlyNotSent(new Error('plain'))).toBe(false);
  });
});
