/**
 * Mock channel settings, declared once: the field list, defaults and validation all come from this
 * schema (see src/channel/config-schema.ts). After a change: `npm run build && node scripts/config-validators.mjs`.
 */
import type { ChannelSchema } from '../../src/channel/config-schema.js';

/** Test-only default secret: the mock is a local stand-in, so a fixed default keeps it zero-config. */
export const MOCK_TEST_WEBHOOK_SECRET = 'mock_whsec_test_only_not_a_real_secret';

const share = (description: string) => ({ type: 'number', minimum: 0, maximum: 1, default: 1, description }) as const;

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: [],
  properties: {
    // Its forms (number, "min-max", distributions) are read by latency() in config.ts.
    latencyMs: { kind: 'object', default: 0, description: 'Delay per call in ms: a number, "min-max" (uniform), or {"mean","stddev"} (normal) / {"mean","distribution":"exponential"}.' },
    successRate: share('Share of collects and payouts that succeed once settled, from 0 to 1.'),
    settleAfterMs: { type: 'number', minimum: 0, maximum: 30 * 86_400_000, default: 1000, description: 'Milliseconds from create until the order reaches its final state (0 settles at once).' },
    balance: {
      kind: 'object',
      default: '1000000',
      anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }] } }],
      errorMessage: 'must be a decimal or an object of currency -> decimal',
      description: 'Opening balance as a decimal, one for every currency ("1000000") or per currency ({"CNY":"500.00","*":"0"}).',
    },
    feeBps: { type: 'integer', minimum: 0, maximum: 10_000, default: 60, description: 'Fee on each collect in basis points (60 = 0.6%).' },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 32 - 1, default: 1, description: 'Seed for outcomes and latency draws; the same seed and order numbers give the same run.' },
    scenario: {
      type: 'string',
      enum: ['RATE_LIMITED', 'TIMEOUT', 'SYSTEM_ERROR', 'INSUFFICIENT_BALANCE', 'DECLINED'],
      description: 'Error to play on demand: RATE_LIMITED, TIMEOUT, SYSTEM_ERROR, INSUFFICIENT_BALANCE or DECLINED.',
    },
    scenarioRate: share('Share of calls the scenario hits, from 0 to 1.'),
    scenarioOps: { type: 'array', items: { type: 'string' }, errorMessage: 'must be a list of operation names', description: 'Operations the scenario applies to, e.g. ["collect","payout"] (default all).' },
    webhookSecret: {
      type: 'string',
      secret: true,
      pattern: '^[\\s\\S]{8,}$',
      errorMessage: 'must be a string of at least 8 characters',
      default: MOCK_TEST_WEBHOOK_SECRET,
      description: 'HMAC-SHA256 secret that signs and verifies mock callbacks (a test-only default is built in).',
    },
    persist: { type: 'boolean', default: true, description: 'Keep the mock books beside the database so later commands see progress (false: in memory, for load tests).' },
  },
} as const satisfies ChannelSchema;
