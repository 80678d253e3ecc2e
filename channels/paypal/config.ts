/**
 * PayPal settings: schema and validation, run before any call. Messages name fields, never values.
 */
import { bool, defineChannelConfig, numberIn, text, timeZone, url } from '../../src/channel/config-schema.js';

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

/** PayPal's settings: each field once, with its sentence, default and check. */
export const PAYPAL_CONFIG = defineChannelConfig<PaypalConfig>({
  id: 'paypal',
  fields: {
    clientId: {
      type: 'string',
      required: true,
      description: 'Client ID of your REST app (developer.paypal.com > Apps & Credentials).',
      missingHint: 'Copy the Client ID of your REST app from developer.paypal.com (pay sandbox writes a test one into the sandbox profile).',
      check: (z) => text(z).pipe(z.string().regex(/^[A-Za-z0-9_-]{8,128}$/, { error: 'is not a PayPal client id' })),
    },
    clientSecret: {
      type: 'string',
      required: true,
      secret: true,
      description: 'Secret of that REST app, used to obtain OAuth2 access tokens.',
      missingHint: 'Give it as env:PAYPAL_CLIENT_SECRET or file:PATH.',
      check: (z) => text(z).pipe(z.string().regex(/^[A-Za-z0-9_-]{8,256}$/, { error: 'is not a PayPal client secret' })),
    },
    webhookId: {
      type: 'string',
      description: 'ID of your webhook (Apps & Credentials > Webhooks); part of every signed webhook message, needed by `pay verify`.',
      check: (z) => text(z),
    },
    certificate: {
      type: 'pem',
      description: 'PEM of the signing certificate PAYPAL-CERT-URL points to (download it once), for offline `pay verify`.',
      check: (z) => text(z),
    },
    caCertificate: {
      type: 'pem',
      description: 'Optional PEM bundle of CA certificates; when given, the signing certificate must chain to one of them.',
      check: (z) => text(z),
    },
    baseUrl: {
      type: 'url',
      default: PAYPAL_BASE_URL,
      description: 'REST origin: https://api-m.paypal.com (live), https://api-m.sandbox.paypal.com (PayPal sandbox) or `pay sandbox`.',
      check: (z, where) => url(z, where),
    },
    timeZone: {
      type: 'string',
      default: 'UTC',
      description: 'IANA time zone of your business day for bills and reconciliation.',
      check: (z, where) => timeZone(z, where),
    },
    captureOnQuery: {
      type: 'boolean',
      default: true,
      description: 'Capture an order the payer has approved when `pay query` finds it APPROVED (false: report it as pending).',
      check: (z) => bool(z),
    },
    returnUrl: {
      type: 'url',
      description: "Where PayPal sends the payer after approving (default: PayPal's approve page only).",
      check: (z, where) => text(z).pipe(url(z, where)),
    },
    cancelUrl: {
      type: 'url',
      description: 'Where PayPal sends the payer who cancels.',
      check: (z, where) => text(z).pipe(url(z, where)),
    },
    merchantId: {
      type: 'string',
      description: 'Your PayPal account id (merchant/payer id); a settlement report of another account is refused.',
      check: (z) => text(z),
    },
    timeoutMs: {
      type: 'number',
      description: "Timeout of one API call in milliseconds (default: the shared HTTP client's).",
      check: (z) => numberIn(z, 100, 600_000, { integer: true }),
    },
  },
  checkOrder: ['clientId', 'clientSecret', 'captureOnQuery', 'timeoutMs', 'returnUrl', 'cancelUrl', 'webhookId', 'certificate', 'caCertificate', 'baseUrl', 'timeZone', 'merchantId'],
});

/** The fields `pay channels list --json` shows. */
export const PAYPAL_CONFIG_FIELDS = PAYPAL_CONFIG.fields;

/** Validates PayPal settings, applying defaults. */
export const validatePaypalConfig = PAYPAL_CONFIG.validate;
