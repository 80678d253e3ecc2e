/**
 * Mock channel settings: schema (for `pay channels list` and `config show`) and validation.
 */
import { bool, checkedBy, defineChannelConfig, numberIn } from '../../src/channel/config-schema.js';
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

/** Opening balances: one decimal for every currency, or per currency (`*`: any other). */
function balances(raw: unknown): Record<string, string> {
  const balance: Record<string, string> = {};
  if (typeof raw === 'string' || typeof raw === 'number') balance['*'] = String(raw);
  else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) {
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
  return balance;
}

const SCENARIOS = ['RATE_LIMITED', 'TIMEOUT', 'SYSTEM_ERROR', 'INSUFFICIENT_BALANCE', 'DECLINED'] as const;

/** The mock's settings: each field once, with its sentence, default and check. */
export const MOCK_CONFIG = defineChannelConfig<MockConfig>({
  id: 'mock',
  fields: {
    latencyMs: {
      type: 'object',
      default: 0,
      description: 'Delay per call in ms: a number, "min-max" (uniform), or {"mean","stddev"} (normal) / {"mean","distribution":"exponential"}.',
      check: (z, where) => checkedBy(z, where, latency),
    },
    successRate: {
      type: 'number',
      default: 1,
      description: 'Share of collects and payouts that succeed once settled, from 0 to 1.',
      check: (z) => numberIn(z, 0, 1, { fromText: true }),
    },
    settleAfterMs: {
      type: 'number',
      default: 1000,
      description: 'Milliseconds from create until the order reaches its final state (0 settles at once).',
      check: (z) => numberIn(z, 0, 30 * 86400_000, { fromText: true }),
    },
    balance: {
      type: 'object',
      default: '1000000',
      description: 'Opening balance as a decimal, one for every currency ("1000000") or per currency ({"CNY":"500.00","*":"0"}).',
      check: (z, where) => checkedBy(z, where, balances),
    },
    feeBps: {
      type: 'number',
      default: 60,
      description: 'Fee on each collect in basis points (60 = 0.6%).',
      check: (z) => numberIn(z, 0, 10000, { integer: true, fromText: true }),
    },
    seed: {
      type: 'number',
      default: 1,
      description: 'Seed for outcomes and latency draws; the same seed and order numbers give the same run.',
      check: (z) => numberIn(z, 0, 2 ** 32 - 1, { integer: true, fromText: true }),
    },
    scenario: {
      type: 'string',
      description: 'Error to play on demand: RATE_LIMITED, TIMEOUT, SYSTEM_ERROR, INSUFFICIENT_BALANCE or DECLINED.',
      check: (z) => z.enum(SCENARIOS, { error: `must be one of ${SCENARIOS.join(', ')}` }),
    },
    scenarioRate: {
      type: 'number',
      default: 1,
      description: 'Share of calls the scenario hits, from 0 to 1.',
      check: (z) => numberIn(z, 0, 1, { fromText: true }),
    },
    scenarioOps: {
      type: 'object',
      description: 'Operations the scenario applies to, e.g. ["collect","payout"] (default all).',
      check: (z) => z.custom<string[]>((v) => Array.isArray(v) && v.every((o) => typeof o === 'string'), { error: 'must be a list of operation names' }),
    },
    webhookSecret: {
      type: 'string',
      secret: true,
      blankIsValue: true,
      default: MOCK_TEST_WEBHOOK_SECRET,
      description: 'HMAC-SHA256 secret that signs and verifies mock callbacks (a test-only default is built in).',
      check: (z) => z.string({ error: 'must be a string of at least 8 characters' }).min(8, { error: 'must be a string of at least 8 characters' }),
    },
    persist: {
      type: 'boolean',
      default: true,
      description: 'Keep the mock books beside the database so later commands see progress (false: in memory, for load tests).',
      check: (z) => bool(z),
    },
  },
  checkOrder: ['balance', 'scenario', 'scenarioOps', 'webhookSecret', 'persist', 'latencyMs', 'successRate', 'settleAfterMs', 'feeBps', 'seed', 'scenarioRate'],
  finish: ({ latencyMs, ...rest }) => ({ latency: latencyMs, ...rest }) as MockConfig,
});

/** The fields `pay channels list --json` shows. */
export const MOCK_CONFIG_FIELDS = MOCK_CONFIG.fields;

/** Validates mock settings, applying defaults. */
export const validateMockConfig = MOCK_CONFIG.validate;
