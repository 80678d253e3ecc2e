/**
 * Stripe settings: schema (for `pay channels list` and `config show`) and validation, run before
 * any call. Error messages name the field, never its value.
 */
import { defineChannelConfig, numberIn, text, timeZone, url } from '../../src/channel/config-schema.js';

/** The Stripe API version pay speaks (and the official `stripe` package it is tested with). */
export const STRIPE_API_VERSION = '2026-10-28.endive';
/** Stripe's API origin. */
export const STRIPE_BASE_URL = 'https://api.stripe.com';

/** True when `apiVersion` takes `allowed_payment_method_types` rather than `payment_method_types` (endive and later). */
export function usesAllowedTypes(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= '2026-09-30';
}

/** Validated Stripe settings. */
export interface StripeConfig extends Record<string, unknown> {
  /** Secret (or restricted) API key: the Bearer credential. */
  secretKey: string;
  /** Webhook signing secret(s), for verifying events; optional for API calls. */
  webhookSecret?: string;
  /** API origin, without a trailing slash. */
  baseUrl: string;
  /** `Stripe-Version` sent on every request. */
  apiVersion: string;
  /** IANA zone of the business day (bills, reconciliation). */
  timeZone: string;
  /** Per-call timeout, ms (the shared client's default when absent). */
  timeoutMs?: number;
}

/** Stripe's settings: each field once, with its sentence, default and check. */
export const STRIPE_CONFIG = defineChannelConfig<StripeConfig>({
  id: 'stripe',
  fields: {
    secretKey: {
      type: 'string',
      required: true,
      secret: true,
      description: 'Secret API key (sk_test_... / sk_live_..., or a restricted rk_ key) from Dashboard > Developers > API keys.',
      missingHint: 'Set it to your secret key, e.g. "secretKey": "env:STRIPE_SECRET_KEY" (pay sandbox writes a test one into the sandbox profile).',
      check: (z) => {
        const message = 'is not a Stripe secret key (expected sk_test_..., sk_live_... or rk_...)\nPublishable keys (pk_...) cannot call the server API.';
        return text(z, message).pipe(z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/, { error: message }));
      },
    },
    webhookSecret: {
      type: 'string',
      secret: true,
      description: 'Signing secret of your webhook endpoint (whsec_...), used by `pay verify`; give several comma-separated while rotating.',
      check: (z) => z.string({ error: 'must be a string (whsec_...)' }),
    },
    baseUrl: {
      type: 'url',
      default: STRIPE_BASE_URL,
      description: 'API origin; point it at `pay sandbox` (http://127.0.0.1:<port>) to use the local simulator.',
      check: (z, where) => url(z, where),
    },
    apiVersion: {
      type: 'string',
      default: STRIPE_API_VERSION,
      description: 'Stripe-Version header sent on every request (pinned; change only after testing the new version).',
      check: (z) => z.string({ error: 'must look like 2026-10-28.endive' }).regex(/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/, { error: 'must look like 2026-10-28.endive' }),
    },
    timeZone: {
      type: 'string',
      default: 'UTC',
      description: 'IANA time zone of your business day for bills and reconciliation (your Stripe account reporting zone).',
      check: (z, where) => timeZone(z, where),
    },
    timeoutMs: {
      type: 'number',
      description: "Timeout of one API call in milliseconds (default: the shared HTTP client's).",
      check: (z) => numberIn(z, 100, 600_000, { integer: true }),
    },
  },
});

/** The fields `pay channels list --json` shows. */
export const STRIPE_CONFIG_FIELDS = STRIPE_CONFIG.fields;

/** Validates Stripe settings, applying defaults. */
export const validateStripeConfig = STRIPE_CONFIG.validate;
