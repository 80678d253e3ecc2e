/**
 * PayPal settings: validation through the schema (config-schema.ts), run before any call. Messages
 * name fields, never values.
 */
import { checkSettings, fieldsOf, type SettingsOf } from '../../src/channel/config-schema.js';
import { schema } from './config-schema.js';
import validate from './config-validate.js';

/**
 * Validated PayPal settings: the client credentials, `webhookId` and `certificate` (offline
 * verification), `caCertificate` (the signing certificate must chain to it, when given), `baseUrl`,
 * `timeZone`, `captureOnQuery`, `returnUrl`/`cancelUrl` (Orders v2 experience_context),
 * `merchantId` (bills of another account are refused) and `timeoutMs`.
 */
export type PaypalConfig = SettingsOf<typeof schema>;

export const PAYPAL_CONFIG_FIELDS = fieldsOf(schema);

/** Validates PayPal settings, applying defaults. */
export function validatePaypalConfig(settings: Record<string, unknown>): PaypalConfig {
  return checkSettings('paypal', schema, validate, settings);
}
