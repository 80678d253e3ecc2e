/**
 * WeChat Pay settings, declared once: the field list, defaults and validation all come from this
 * schema (see src/channel/config-schema.ts); config.ts opens the keys it names. Key names follow
 * DESIGN.md ("Configuration"). After a change: `npm run build && node scripts/config-validators.mjs`.
 */
import type { ChannelSchema } from '../../src/channel/config-schema.js';

/** The real API host. */
export const DEFAULT_BASE_URL = 'https://api.mch.weixin.qq.com';

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['mchId', 'appId', 'serialNo', 'privateKey', 'apiV3Key'],
  properties: {
    mchId: {
      type: 'string',
      pattern: '^\\d{6,32}$',
      errorMessage: 'must be the numeric merchant id (商户号)',
      description: 'Merchant id (商户号), shown in the WeChat Pay merchant platform under Account Centre.',
    },
    appId: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]{4,64}$',
      errorMessage: 'is not an AppID (e.g. wxd678efh567hg6787)',
      description: 'AppID bound to the merchant id (official account, mini program or app) that the payer pays through.',
    },
    serialNo: {
      type: 'string',
      pattern: '^[0-9A-Fa-f]{8,64}$',
      errorMessage: 'must be the hex serial of the merchant API certificate',
      description: 'Serial number of the merchant API certificate (apiclient_cert.pem), 40 hex characters, from API Security.',
    },
    privateKey: {
      type: 'string',
      kind: 'pem',
      secret: true,
      description: 'Merchant API private key (apiclient_key.pem) that signs every request; PEM or bare base64, usually file:./apiclient_key.pem.',
    },
    apiV3Key: { type: 'string', secret: true, description: 'APIv3 key (32 characters) set under API Security; decrypts notifications and platform certificates.' },
    platformPublicKey: {
      type: 'string',
      kind: 'pem',
      description: 'WeChat Pay public key (or a platform certificate) that verifies responses and notifications; leave out to download platform certificates.',
    },
    platformSerial: { type: 'string', description: 'Id of platformPublicKey: PUB_KEY_ID_... for the WeChat Pay public key, or the certificate serial.' },
    platformCertificate: { type: 'string', kind: 'pem', description: 'Platform certificate(s) in PEM, for offline `pay verify` without downloading them.' },
    apiKey: { type: 'string', secret: true, description: 'APIv2 key (32 characters), only needed to verify legacy v2 XML notifications.' },
    baseUrl: { type: 'string', kind: 'url', urlForm: 'base', default: DEFAULT_BASE_URL, description: 'API base URL; the real host by default, or the local sandbox.' },
    // Sent to WeChat Pay as configured.
    notifyUrl: { type: 'string', kind: 'url', description: 'HTTPS URL WeChat Pay sends payment, refund and transfer notifications to (required by collect).' },
    transferSceneId: { type: 'string', default: '1000', description: 'Transfer scene id for payouts (商家转账 转账场景ID) granted to the merchant, e.g. 1000 cash marketing.' },
    transferPerception: { type: 'string', default: '现金奖励', description: 'Reason the payee sees for a payout (用户收款感知), one of those allowed for the scene.' },
    transferReportInfos: {
      type: 'object',
      additionalProperties: { type: 'string' },
      errorMessage: 'must be an object of info_type -> info_content',
      description: 'Scene report items for payouts, {"活动名称": "...", "奖励说明": "..."} for scene 1000 (defaults derived from the remark).',
    },
    balanceAccounts: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', enum: ['BASIC', 'OPERATION', 'FEES'] },
      default: ['BASIC'],
      errorMessage: 'must list BASIC, OPERATION and/or FEES',
      description: 'Fund accounts `pay balance` reports: any of BASIC, OPERATION, FEES.',
    },
  },
} as const satisfies ChannelSchema;
