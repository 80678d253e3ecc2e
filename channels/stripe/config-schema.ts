/**
 * Stripe settings, declared once: the field list, defaults and validation all come from this
 * schema (see src/channel/config-schema.ts). After a change: `npm run build && node scripts/config-validators.mjs`.
 */
import type { ChannelSchema } from '../../src/channel/config-schema.js';

/** The Stripe API version pay speaks (and the official `stripe` package it is tested with). */
export const STRIPE_API_VERSION = '2026-10-28.endive';
/** Stripe's API origin. */
export const STRIPE_BASE_URL = 'https://api.stripe.com';

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['secretKey'],
  properties: {
    secretKey: {
      type: 'string',
      secret: true,
      pattern: '^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$',
      errorMessage: 'is not a Stripe secret key (expected sk_test_..., sk_live_... or rk_...)',
      hint: 'Set it to your secret key, e.g. "secretKey": "env:STRIPE_SECRET_KEY" (pay sandbox writes a test one into the sandbox profile). Publishable keys (pk_...) cannot call the server API.',
      description: 'Secret API key (sk_test_... / sk_live_..., or a restricted rk_ key) from Dashboard > Developers > API keys.',
    },
    webhookSecret: {
      type: 'string',
      secret: true,
      description: 'Signing secret of your webhook endpoint (whsec_...), used by `pay verify`; give several comma-separated while rotating.',
    },
    baseUrl: { type: 'string', kind: 'url', urlForm: 'base', default: STRIPE_BASE_URL, description: 'API origin; point it at `pay sandbox` (http://127.0.0.1:<port>) to use the local simulator.' },
    apiVersion: {
      type: 'string',
      pattern: '^\\d{4}-\\d{2}-\\d{2}(\\.[a-z]+)?$',
      errorMessage: 'must look like 2026-10-28.endive',
      default: STRIPE_API_VERSION,
      description: 'Stripe-Version header sent on every request (pinned; change only after testing the new version).',
    },
    timeZone: { type: 'string', timeZone: true, default: 'UTC', description: 'IANA time zone of your business day for bills and reconciliation (your Stripe account reporting zone).' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, description: "Timeout of one API call in milliseconds (default: the shared HTTP client's)." },
  },
} as const satisfies ChannelSchema;
