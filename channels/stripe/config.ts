/**
 * Stripe settings: schema (for `pay channels list` and `config show`) and validation, run before
 * any call. Error messages name the field, never its value.
 */
import { checkBaseUrl, checkTimeZone } from '../../src/channel/config-checks.js';
import type { ConfigField } from '../../src/channel/contract.js';
import { configError } from '../../src/core/errors.js';

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

export const STRIPE_CONFIG_FIELDS: ConfigField[] = [
  { key: 'secretKey', type: 'string', required: true, secret: true, description: 'Secret API key (sk_test_... / sk_live_..., or a restricted rk_ key) from Dashboard > Developers > API keys.' },
  { key: 'webhookSecret', type: 'string', secret: true, description: 'Signing secret of your webhook endpoint (whsec_...), used by `pay verify`; give several comma-separated while rotating.' },
  { key: 'baseUrl', type: 'url', default: STRIPE_BASE_URL, description: 'API origin; point it at `pay sandbox` (http://127.0.0.1:<port>) to use the local simulator.' },
  { key: 'apiVersion', type: 'string', default: STRIPE_API_VERSION, description: 'Stripe-Version header sent on every request (pinned; change only after testing the new version).' },
  { key: 'timeZone', type: 'string', default: 'UTC', description: 'IANA time zone of your business day for bills and reconciliation (your Stripe account reporting zone).' },
  { key: 'timeoutMs', type: 'number', description: 'Timeout of one API call in milliseconds (default: the shared HTTP client\'s).' },
];

/** Validates Stripe settings, applying defaults. */
export function validateStripeConfig(settings: Record<string, unknown>): StripeConfig {
  const key = settings.secretKey;
  if (key === undefined || key === null || key === '') {
    throw configError('channels.stripe.secretKey is missing', { hint: 'Set it to your secret key, e.g. "secretKey": "env:STRIPE_SECRET_KEY" (pay sandbox writes a test one into the sandbox profile).' });
  }
  if (typeof key !== 'string' || !/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/.test(key.trim())) {
    throw configError('channels.stripe.secretKey is not a Stripe secret key (expected sk_test_..., sk_live_... or rk_...)', {
      hint: 'Publishable keys (pk_...) cannot call the server API.',
    });
  }
  const webhookSecret = settings.webhookSecret;
  if (webhookSecret !== undefined && webhookSecret !== null && typeof webhookSecret !== 'string') {
    throw configError('channels.stripe.webhookSecret must be a string (whsec_...)');
  }
  const apiVersion = settings.apiVersion ?? STRIPE_API_VERSION;
  if (typeof apiVersion !== 'string' || !/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(apiVersion)) {
    throw configError('channels.stripe.apiVersion must look like 2026-10-28.endive');
  }
  const timeoutMs = settings.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000)) {
    throw configError('channels.stripe.timeoutMs must be an integer from 100 to 600000');
  }
  return {
    secretKey: key.trim(),
    webhookSecret: typeof webhookSecret === 'string' && webhookSecret !== '' ? webhookSecret : undefined,
    baseUrl: checkBaseUrl(settings.baseUrl ?? STRIPE_BASE_URL, 'channels.stripe.baseUrl'),
    apiVersion,
    timeZone: checkTimeZone(settings.timeZone ?? 'UTC', 'channels.stripe.timeZone'),
    timeoutMs: timeoutMs as number | undefined,
  };
}
