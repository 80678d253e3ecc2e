/**
 * PayPal settings: schema and validation, run before any call. Messages name fields, never values.
 */
import { checkBaseUrl, checkTimeZone } from '../../src/channel/config-checks.js';
import type { ConfigField } from '../../src/channel/contract.js';
import { configError } from '../../src/core/errors.js';

/** PayPal's live REST origin. */
export const PAYPAL_BASE_URL = 'https://api-m.paypal.com';

/** Validated PayPal settings. */
export interface PaypalConfig extends Record<string, unknown> {
  clientId: string;
  clientSecret: string;
  /** The webhook's id (for verifying its events offline). */
  webhookId?: string;
  /** PEM of PayPal's message-verification certificate (offline verification). */
  certificate?: string;
  /** PEM bundle of CA certificates the signing certificate must chain to (optional). */
  caCertificate?: string;
  baseUrl: string;
  timeZone: string;
  /** Capture an order the payer approved when `pay query` finds it APPROVED (default true). */
  captureOnQuery: boolean;
  /** Where the payer returns after approving (Orders v2 experience_context), if set. */
  returnUrl?: string;
  cancelUrl?: string;
  /** The PayPal account id (payer id) of the merchant; bills for another account are refused. */
  merchantId?: string;
  timeoutMs?: number;
}

export const PAYPAL_CONFIG_FIELDS: ConfigField[] = [
  { key: 'clientId', type: 'string', required: true, description: 'Client ID of your REST app (developer.paypal.com > Apps & Credentials).' },
  { key: 'clientSecret', type: 'string', required: true, secret: true, description: 'Secret of that REST app, used to obtain OAuth2 access tokens.' },
  { key: 'webhookId', type: 'string', description: 'ID of your webhook (Apps & Credentials > Webhooks); part of every signed webhook message, needed by `pay verify`.' },
  { key: 'certificate', type: 'pem', description: 'PEM of the signing certificate PAYPAL-CERT-URL points to (download it once), for offline `pay verify`.' },
  { key: 'caCertificate', type: 'pem', description: 'Optional PEM bundle of CA certificates; when given, the signing certificate must chain to one of them.' },
  { key: 'baseUrl', type: 'url', default: PAYPAL_BASE_URL, description: 'REST origin: https://api-m.paypal.com (live), https://api-m.sandbox.paypal.com (PayPal sandbox) or `pay sandbox`.' },
  { key: 'timeZone', type: 'string', default: 'UTC', description: 'IANA time zone of your business day for bills and reconciliation.' },
  { key: 'captureOnQuery', type: 'boolean', default: true, description: 'Capture an order the payer has approved when `pay query` finds it APPROVED (false: report it as pending).' },
  { key: 'returnUrl', type: 'url', description: 'Where PayPal sends the payer after approving (default: PayPal\'s approve page only).' },
  { key: 'cancelUrl', type: 'url', description: 'Where PayPal sends the payer who cancels.' },
  { key: 'merchantId', type: 'string', description: 'Your PayPal account id (merchant/payer id); a settlement report of another account is refused.' },
  { key: 'timeoutMs', type: 'number', description: 'Timeout of one API call in milliseconds (default: the shared HTTP client\'s).' },
];

function optionalString(settings: Record<string, unknown>, key: string): string | undefined {
  const v = settings[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw configError(`channels.paypal.${key} must be a string`);
  return v.trim();
}

/** Validates PayPal settings, applying defaults. */
export function validatePaypalConfig(settings: Record<string, unknown>): PaypalConfig {
  const clientId = optionalString(settings, 'clientId');
  if (!clientId) throw configError('channels.paypal.clientId is missing', { hint: 'Copy the Client ID of your REST app from developer.paypal.com (pay sandbox writes a test one into the sandbox profile).' });
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(clientId)) throw configError('channels.paypal.clientId is not a PayPal client id');
  const clientSecret = optionalString(settings, 'clientSecret');
  if (!clientSecret) throw configError('channels.paypal.clientSecret is missing', { hint: 'Give it as env:PAYPAL_CLIENT_SECRET or file:PATH.' });
  if (!/^[A-Za-z0-9_-]{8,256}$/.test(clientSecret)) throw configError('channels.paypal.clientSecret is not a PayPal client secret');
  const captureOnQuery = settings.captureOnQuery ?? true;
  if (typeof captureOnQuery !== 'boolean') throw configError('channels.paypal.captureOnQuery must be true or false');
  const timeoutMs = settings.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000)) {
    throw configError('channels.paypal.timeoutMs must be an integer from 100 to 600000');
  }
  const returnUrl = optionalString(settings, 'returnUrl');
  const cancelUrl = optionalString(settings, 'cancelUrl');
  return {
    clientId,
    clientSecret,
    webhookId: optionalString(settings, 'webhookId'),
    certificate: optionalString(settings, 'certificate'),
    caCertificate: optionalString(settings, 'caCertificate'),
    baseUrl: checkBaseUrl(settings.baseUrl ?? PAYPAL_BASE_URL, 'channels.paypal.baseUrl'),
    timeZone: checkTimeZone(settings.timeZone ?? 'UTC', 'channels.paypal.timeZone'),
    captureOnQuery,
    returnUrl: returnUrl ? checkBaseUrl(returnUrl, 'channels.paypal.returnUrl') : undefined,
    cancelUrl: cancelUrl ? checkBaseUrl(cancelUrl, 'channels.paypal.cancelUrl') : undefined,
    merchantId: optionalString(settings, 'merchantId'),
    timeoutMs: timeoutMs as number | undefined,
  };
}
