/**
 * Mock channel settings: schema (for `pay channels list` and `config show`) and validation.
 */
import type { ConfigField } from '../../src/channel/contract.js';
import { configError, type ErrorCode } from '../../src/core/errors.js';
import { isKnownCurrency, parseAmount } from '../../src/core/money.js';

/** A latency distribution, ms. */
export type Latency =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'normal'; mean: number; stddev: number }
  | { kind: 'exponential'; mean: number };

/** Error scenarios the mock can play on demand. */
export type MockScenario = Extract<ErrorCode, 'RATE_LIMITED' | 'TIMEOUT' | 'SYSTEM_ERROR' | 'INSUFFICIENT_BALANCE'> | 'DECLINED';

/** Validated mock settings. */
export interface MockConfig extends Record<string, unknown> {
  /** Delay added to every call. */
  latency: Latency;
  /** Share of collects and payouts that end succeeded (the rest fail), 0..1. */
  successRate: number;
  /** Time from create to the final state, ms (0: final at once). */
  settleAfterMs: number;
  /** Opening balance per currency, minor units (`*` applies to any currency not listed). */
  balance: Record<string, string>;
  /** Fee in basis points of each collect (60 = 0.6%). */
  feeBps: number;
  /** Seed for outcomes and latency draws. */
  seed: number;
  /** An error to play, if any. */
  scenario?: MockScenario;
  /** Share of calls the scenario hits, 0..1 (default 1). */
  scenarioRate: number;
  /** Operations the scenario applies to (default all). */
  scenarioOps?: string[];
  /** HMAC secret for signed callbacks. */
  webhookSecret: string;
  /** Keep the books in the state directory (default true); false keeps them in memory. */
  persist: boolean;
}

/** Test-only default secret: the mock is a local stand-in, so a fixed default keeps it zero-config. */
export const MOCK_TEST_WEBHOOK_SECRET = 'mock_whsec_test_only_not_a_real_secret';

export const MOCK_CONFIG_FIELDS: ConfigField[] = [
  { key: 'latencyMs', type: 'object', description: 'Delay per call in ms: a number, "min-max" (uniform), or {"mean","stddev"} (normal) / {"mean","distribution":"exponential"}.', default: 0 },
  { key: 'successRate', type: 'number', description: 'Share of collects and payouts that succeed once settled, from 0 to 1.', default: 1 },
  { key: 'settleAfterMs', type: 'number', description: 'Milliseconds from create until the order reaches its final state (0 settles at once).', default: 1000 },
  { key: 'balance', type: 'object', description: 'Opening balance as a decimal, one for every currency ("1000000") or per currency ({"CNY":"500.00","*":"0"}).', default: '1000000' },
  { key: 'feeBps', type: 'number', description: 'Fee on each collect in basis points (60 = 0.6%).', default: 60 },
  { key: 'seed', type: 'number', description: 'Seed for outcomes and latency draws; the same seed and order numbers give the same run.', default: 1 },
  { key: 'scenario', type: 'string', description: 'Error to play on demand: RATE_LIMITED, TIMEOUT, SYSTEM_ERROR, INSUFFICIENT_BALANCE or DECLINED.' },
  { key: 'scenarioRate', type: 'number', description: 'Share of calls the scenario hits, from 0 to 1.', default: 1 },
  { key: 'scenarioOps', type: 'object', description: 'Operations the scenario applies to, e.g. ["collect","payout"] (default all).' },
  { key: 'webhookSecret', type: 'string', secret: true, description: 'HMAC-SHA256 secret that signs and verifies mock callbacks (a test-only default is built in).', default: MOCK_TEST_WEBHOOK_SECRET },
  { key: 'persist', type: 'boolean', description: 'Keep the mock books beside the database so later commands see progress (false: in memory, for load tests).', default: true },
];

function num(settings: Record<string, unknown>, key: string, def: number, min: number, max: number, integer = false): number {
  const v = settings[key] ?? def;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw configError(`channels.mock.${key} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

function latency(v: unknown): Latency {
  if (v === undefined || v === null) return { kind: 'fixed', ms: 0 };
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return { kind: 'fixed', ms: v };
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$/.exec(v);
    if (m && m[2] === undefined) return { kind: 'fixed', ms: Number(m[1]) };
    if (m && Number(m[2]) >= Number(m[1])) return { kind: 'uniform', min: Number(m[1]), max: Number(m[2]) };
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.mean === 'number' && o.mean >= 0) {
      if (o.distribution === 'exponential') return { kind: 'exponential', mean: o.mean };
      if (typeof o.stddev === 'number' && o.stddev >= 0) return { kind: 'normal', mean: o.mean, stddev: o.stddev };
    }
  }
  throw configError('channels.mock.latencyMs must be a number, "min-max", {"mean","stddev"} or {"mean","distribution":"exponential"}');
}

/** Validates mock settings, applying defaults. */
export function validateMockConfig(settings: Record<string, unknown>): MockConfig {
  const balanceRaw = settings.balance ?? '1000000';
  const balance: Record<string, string> = {};
  if (typeof balanceRaw === 'string' || typeof balanceRaw === 'number') balance['*'] = String(balanceRaw);
  else if (balanceRaw && typeof balanceRaw === 'object') {
    for (const [k, v] of Object.entries(balanceRaw)) {
      if (k !== '*' && !isKnownCurrency(k)) throw configError(`channels.mock.balance: unknown currency ${k}`);
      if (typeof v !== 'string' && typeof v !== 'number') throw configError(`channels.mock.balance.${k} must be a decimal string`);
      balance[k] = String(v);
    }
  } else throw configError('channels.mock.balance must be a decimal or an object of currency -> decimal');
  // Check every balance parses ("*" as a 3-decimal currency, the widest in use; per currency otherwise).
  for (const [k, v] of Object.entries(balance)) {
    try {
      parseAmount(v, k === '*' ? 'KWD' : k, { allowZero: true, allowTrailingZeros: true, label: `channels.mock.balance.${k}` });
    } catch (err) {
      throw configError((err as Error).message);
    }
  }
  const scenario = settings.scenario;
  if (scenario !== undefined && scenario !== null && scenario !== '') {
    const allowed = ['RATE_LIMITED', 'TIMEOUT', 'SYSTEM_ERROR', 'INSUFFICIENT_BALANCE', 'DECLINED'];
    if (typeof scenario !== 'string' || !allowed.includes(scenario)) {
      throw configError(`channels.mock.scenario must be one of ${allowed.join(', ')}`);
    }
  }
  const ops = settings.scenarioOps;
  if (ops !== undefined && (!Array.isArray(ops) || ops.some((o) => typeof o !== 'string'))) {
    throw configError('channels.mock.scenarioOps must be a list of operation names');
  }
  const secret = settings.webhookSecret ?? MOCK_TEST_WEBHOOK_SECRET;
  if (typeof secret !== 'string' || secret.length < 8) throw configError('channels.mock.webhookSecret must be a string of at least 8 characters');
  const persist = settings.persist ?? true;
  if (typeof persist !== 'boolean') throw configError('channels.mock.persist must be true or false');
  return {
    latency: latency(settings.latencyMs),
    successRate: num(settings, 'successRate', 1, 0, 1),
    settleAfterMs: num(settings, 'settleAfterMs', 1000, 0, 30 * 86400_000),
    balance,
    feeBps: num(settings, 'feeBps', 60, 0, 10000, true),
    seed: num(settings, 'seed', 1, 0, 2 ** 32 - 1, true),
    scenario: scenario ? (scenario as MockScenario) : undefined,
    scenarioRate: num(settings, 'scenarioRate', 1, 0, 1),
    scenarioOps: ops as string[] | undefined,
    webhookSecret: secret,
    persist,
  };
}
