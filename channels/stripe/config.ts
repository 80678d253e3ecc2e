/**
 * Stripe settings: validation through the schema (config-schema.ts), run before any call. Error
 * messages name the field, never its value.
 */
import { checkSettings, fieldsOf, type SettingsOf } from '../../src/channel/config-schema.js';
import { schema, STRIPE_API_VERSION } from './config-schema.js';
import validate from './config-validate.js';

export { STRIPE_API_VERSION };

/** True when `apiVersion` takes `allowed_payment_method_types` rather than `payment_method_types` (endive and later). */
export function usesAllowedTypes(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= '2026-09-30';
}

/** Validated Stripe settings (secretKey, webhookSecret, baseUrl without a trailing slash, apiVersion, timeZone, timeoutMs). */
export type StripeConfig = SettingsOf<typeof schema>;

export const STRIPE_CONFIG_FIELDS = fieldsOf(schema);

/** Validates Stripe settings, applying defaults. */
export function validateStripeConfig(settings: Record<string, unknown>): StripeConfig {
  return checkSettings('stripe', schema, validate, settings);
}
