/**
 * Mock channel settings: validation through the schema (config-schema.ts), and the forms of
 * `latencyMs` and `balance` read into what the adapter uses.
 */
import { checkSettings, fieldsOf } from '../../src/channel/config-schema.js';
import { configError, type ErrorCode } from '../../src/core/errors.js';
import { isKnownCurrency, parseAmount } from '../../src/core/money.js';
import { MOCK_TEST_WEBHOOK_SECRET, schema } from './config-schema.js';
import validate from './config-validate.js';

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

export { MOCK_TEST_WEBHOOK_SECRET };

export const MOCK_CONFIG_FIELDS = fieldsOf(schema);

/** Reads the forms of `latencyMs` the schema lets through untyped. */
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
  const s = checkSettings('mock', schema, validate, settings);
  const balance: Record<string, string> = {};
  if (typeof s.balance !== 'object' || s.balance === null) balance['*'] = String(s.balance);
  else {
    for (const [k, v] of Object.entries(s.balance)) {
      if (k !== '*' && !isKnownCurrency(k)) throw configError(`channels.mock.balance: unknown currency ${k}`);
      balance[k] = String(v);
    }
  }
  // Check every balance parses ("*" as a 3-decimal currency, the widest in use; per currency otherwise).
  for (const [k, v] of Object.entries(balance)) {
    try {
      parseAmount(v, k === '*' ? 'KWD' : k, { allowZero: true, allowTrailingZeros: true, label: `channels.mock.balance.${k}` });
    } catch (err) {
      throw configError((err as Error).message);
    }
  }
  return { ...s, latency: latency(s.latencyMs), balance, scenarioOps: s.scenarioOps as string[] | undefined };
}
