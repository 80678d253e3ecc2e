/**
 * UnionPay settings, declared once: the field list, defaults and validation all come from this
 * schema (see src/channel/config-schema.ts); config.ts opens the key material it names. After a
 * change: `npm run build && node scripts/config-validators.mjs`.
 */
import type { ChannelSchema } from '../../src/channel/config-schema.js';

/** UnionPay's production gateway origin (paths `/gateway/api/...`). */
export const UNIONPAY_BASE_URL = 'https://gateway.95516.com';

const pem = (description: string) => ({ type: 'string', kind: 'pem', description }) as const;

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['merId'],
  properties: {
    merId: {
      type: 'string',
      pattern: '^[0-9A-Za-z]{15}$',
      errorMessage: 'must be the 15-character merchant code',
      hint: 'Set your 15-character UnionPay merchant code (商户号).',
      description: 'Merchant code (商户号), 15 characters, from the UnionPay merchant portal (test merchants start with 777).',
    },
    signCert: {
      type: 'string',
      secret: true,
      description: 'Your sign certificate (.pfx, PKCS#12) as base64 text: `base64 -w0 acp_sign.pfx > sign.b64`, then "file:sign.b64" (file: reads text, so give the base64, not the binary).',
    },
    signCertPassword: { type: 'string', secret: true, verbatim: true, description: 'Password of the sign certificate (.pfx) set when it was exported.' },
    privateKey: { ...pem("Instead of signCert: the sign certificate's RSA private key (PEM or bare base64 PKCS#8/PKCS#1), with certId."), secret: true },
    certId: {
      type: 'string',
      pattern: '^\\d{1,40}$',
      errorMessage: 'must be the decimal serial number of the sign certificate',
      description: "With privateKey: the sign certificate's serial number in decimal (certId); read from signCert automatically.",
    },
    middleCert: pem("UnionPay's middle certificate (acp_prod_middle.cer / acp_test_middle.cer), PEM or base64; answers and notifications must chain to it (5.1.0)."),
    rootCert: pem("UnionPay's root certificate (acp_prod_root.cer / acp_test_root.cer), PEM or base64; the middle certificate must chain to it (5.1.0)."),
    verifyCert: pem("Version 5.0.0 only: UnionPay's verify certificate(s) (acp_*_verify_sign.cer), PEM; chosen by the certId of each answer."),
    secureKey: { type: 'string', secret: true, description: 'For signMethod 11: the secure key set in the merchant portal (signs with SHA-256 instead of certificates).' },
    version: { type: 'string', enum: ['5.1.0', '5.0.0'], default: '5.1.0', description: 'Gateway interface version: 5.1.0 (SHA-256, signPubKeyCert) or 5.0.0 (SHA-1, local verify certificate).' },
    signMethod: {
      type: 'string',
      enum: ['01', '11'],
      default: '01',
      errorMessage: 'must be 01 (certificates) or 11 (secure key)',
      description: 'Signature method: 01 (RSA certificates) or 11 (secure key).',
    },
    baseUrl: {
      type: 'string',
      kind: 'url',
      urlForm: 'base',
      default: UNIONPAY_BASE_URL,
      description: 'Gateway origin (https://gateway.95516.com; test: https://gateway.test.95516.com); point it at `pay sandbox` to use the local simulator.',
    },
    fileBaseUrl: {
      type: 'string',
      kind: 'url',
      urlForm: 'base',
      description: 'File-transfer origin for reconciliation files (default: filedownload.95516.com for the production gateway, filedownload.test.95516.com for the test one, else baseUrl).',
    },
    backUrl: { type: 'string', kind: 'url', description: 'Your back notification URL (backUrl): UnionPay POSTs signed results here; --notify-url overrides it per order.' },
    frontUrl: { type: 'string', kind: 'url', description: "Where the payer's browser returns after a web payment (frontUrl); --return-url overrides it." },
    payTimeoutMinutes: {
      type: 'integer',
      minimum: 1,
      maximum: 7 * 24 * 60,
      default: 15,
      errorMessage: 'must be a whole number of minutes from 1 to 10080',
      description: 'Minutes the payer has to pay (payTimeout); an unpaid web order UnionPay never saw is closed after this.',
    },
    voidSameDay: {
      type: 'boolean',
      default: false,
      description: 'Full refunds on the day of payment (before the 23:00 cut-off) use void (消费撤销, txnType 31), which returns the fee, instead of refund (04).',
    },
    timeoutMs: { type: 'number', exclusiveMinimum: 0, description: "Timeout of one API call in milliseconds (default: the shared HTTP client's)." },
  },
} as const satisfies ChannelSchema;
