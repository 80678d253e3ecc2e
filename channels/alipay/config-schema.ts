/**
 * Alipay settings, declared once: the field list, defaults and validation all come from this
 * schema (see src/channel/config-schema.ts); config.ts opens the keys and certificates it names.
 * After a change: `npm run build && node scripts/config-validators.mjs`.
 */
import type { ChannelSchema } from '../../src/channel/config-schema.js';

/** Alipay's production gateway. */
export const DEFAULT_GATEWAY = 'https://openapi.alipay.com/gateway.do';

const pem = (description: string) => ({ type: 'string', kind: 'pem', description }) as const;
const url = (description: string) => ({ type: 'string', kind: 'url', description }) as const;

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['appId', 'privateKey'],
  properties: {
    appId: {
      type: 'string',
      pattern: '^\\d{8,32}$',
      errorMessage: 'must be the numeric APPID (e.g. 2021000000000000)',
      hint: 'Copy the APPID of your app from the Alipay open platform console.',
      description: 'The application id (APPID) of your app on the Alipay open platform console.',
    },
    privateKey: {
      type: 'string',
      kind: 'pem',
      secret: true,
      hint: 'Give the app private key as file:PATH or env:NAME.',
      description: "Your app's RSA private key that signs every request: PEM (PKCS#1 or PKCS#8) or the bare base64 Alipay's key tool prints, usually as file:PATH.",
    },
    alipayPublicKey: pem("Public-key mode: Alipay's public key for your app (PEM or bare base64), which checks answers and notifications."),
    appCert: pem('Certificate mode: your app public-key certificate (appCertPublicKey_<APPID>.crt); its serial number is sent as app_cert_sn.'),
    alipayPublicCert: pem("Certificate mode: Alipay's public-key certificate (alipayCertPublicKey_RSA2.crt), whose key checks answers and notifications."),
    alipayRootCert: pem("Certificate mode: Alipay's root certificate bundle (alipayRootCert.crt); its serial numbers are sent as alipay_root_cert_sn."),
    // As configured: the gateway keeps its path, and callback URLs reach Alipay verbatim.
    gateway: { ...url('The OpenAPI gateway URL; point it at `pay sandbox` (…/gateway.do) for local tests.'), default: DEFAULT_GATEWAY },
    notifyUrl: url('Where Alipay posts asynchronous notifications (notify_url); --notify-url overrides it per order.'),
    returnUrl: url('Where the payer returns after page or wap pay (return_url).'),
    signType: { type: 'string', enum: ['RSA2', 'RSA'], default: 'RSA2', description: 'Signature algorithm: RSA2 (SHA256withRSA, the default) or the legacy RSA (SHA1withRSA).' },
    sellerId: {
      type: 'string',
      pattern: '^2088\\d{12}$',
      errorMessage: 'must be a merchant PID: 2088 followed by 12 digits',
      description: 'Your merchant PID (2088 followed by 12 digits): checked against notifications and bills, and used by the balance query.',
    },
  },
} as const satisfies ChannelSchema;
