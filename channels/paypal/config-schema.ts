/**
 * PayPal settings, declared once: the field list, defaults and validation all come from this
 * schema (see src/channel/config-schema.ts). After a change: `npm run build && node scripts/config-validators.mjs`.
 */
import type { ChannelSchema } from '../../src/channel/config-schema.js';

/** PayPal's live REST origin. */
export const PAYPAL_BASE_URL = 'https://api-m.paypal.com';

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['clientId', 'clientSecret'],
  properties: {
    clientId: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]{8,128}$',
      errorMessage: 'is not a PayPal client id',
      hint: 'Copy the Client ID of your REST app from developer.paypal.com (pay sandbox writes a test one into the sandbox profile).',
      description: 'Client ID of your REST app (developer.paypal.com > Apps & Credentials).',
    },
    clientSecret: {
      type: 'string',
      secret: true,
      pattern: '^[A-Za-z0-9_-]{8,256}$',
      errorMessage: 'is not a PayPal client secret',
      hint: 'Give it as env:PAYPAL_CLIENT_SECRET or file:PATH.',
      description: 'Secret of that REST app, used to obtain OAuth2 access tokens.',
    },
    webhookId: { type: 'string', description: 'ID of your webhook (Apps & Credentials > Webhooks); part of every signed webhook message, needed by `pay verify`.' },
    certificate: { type: 'string', kind: 'pem', description: 'PEM of the signing certificate PAYPAL-CERT-URL points to (download it once), for offline `pay verify`.' },
    caCertificate: { type: 'string', kind: 'pem', description: 'Optional PEM bundle of CA certificates; when given, the signing certificate must chain to one of them.' },
    baseUrl: {
      type: 'string',
      kind: 'url',
      urlForm: 'base',
      default: PAYPAL_BASE_URL,
      description: 'REST origin: https://api-m.paypal.com (live), https://api-m.sandbox.paypal.com (PayPal sandbox) or `pay sandbox`.',
    },
    timeZone: { type: 'string', timeZone: true, default: 'UTC', description: 'IANA time zone of your business day for bills and reconciliation.' },
    captureOnQuery: { type: 'boolean', default: true, description: 'Capture an order the payer has approved when `pay query` finds it APPROVED (false: report it as pending).' },
    returnUrl: { type: 'string', kind: 'url', urlForm: 'base', description: "Where PayPal sends the payer after approving (default: PayPal's approve page only)." },
    cancelUrl: { type: 'string', kind: 'url', urlForm: 'base', description: 'Where PayPal sends the payer who cancels.' },
    merchantId: { type: 'string', description: 'Your PayPal account id (merchant/payer id); a settlement report of another account is refused.' },
    timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, description: "Timeout of one API call in milliseconds (default: the shared HTTP client's)." },
  },
} as const satisfies ChannelSchema;
