/**
 * WeChat Pay settings: the schema (`pay channels list`, `config show`) and validation before any
 * network call. Key names follow DESIGN.md ("Configuration").
 */
import type { KeyObject } from 'node:crypto';
import { checkedBy, defineChannelConfig, text, url, type FieldSchema } from '../../src/channel/config-schema.js';
import { configError } from '../../src/core/errors.js';
import { certificatesFrom, keyFromCertificate, privateKeyFrom, publicKeyFrom, type PlatformKey } from './signature.js';

/** The real API host. */
export const DEFAULT_BASE_URL = 'https://api.mch.weixin.qq.com';

/** Validated settings (keys parsed once, here). */
export interface WechatpayConfig extends Record<string, unknown> {
  mchId: string;
  appId: string;
  /** Merchant API certificate serial (uppercase hex). */
  serialNo: string;
  privateKey: KeyObject;
  /** APIv3 key (32 bytes). */
  apiV3Key: string;
  /** Configured platform keys (WeChat Pay public key and/or platform certificates); empty: download. */
  platformKeys: PlatformKey[];
  /** APIv2 key, for legacy XML notifications only. */
  apiKey?: string;
  baseUrl: string;
  notifyUrl?: string;
  /** 商家转账 scene id (`1000` cash marketing, `1005` remuneration...). */
  transferSceneId: string;
  /** What the payee sees as the reason (用户收款感知). */
  transferPerception: string;
  /** Scene report items (`info_type` -> `info_content`) the scene requires. */
  transferReportInfos: Record<string, string>;
  /** Fund accounts `pay balance` shows. */
  balanceAccounts: string[];
}

/**
 * Reads the platform keys verification may use: `platformPublicKey` (+ `platformSerial`) and
 * `platformCertificate` (one or several PEM certificates). Shared with offline verification,
 * which turns the CONFIG_ERROR thrown here into a verdict naming the key.
 */
export function platformKeysFrom(settings: Record<string, unknown>): PlatformKey[] {
  const keys: PlatformKey[] = [];
  const pub = settings.platformPublicKey;
  const serial = typeof settings.platformSerial === 'string' && settings.platformSerial.trim() !== '' ? settings.platformSerial : undefined;
  if (pub !== undefined && pub !== null && pub !== '') {
    if (typeof pub !== 'string') throw configError('channels.wechatpay.platformPublicKey must be PEM text or base64');
    try {
      keys.push(publicKeyFrom(pub, serial));
    } catch (err) {
      throw configError(`channels.wechatpay.platformPublicKey is not a usable RSA public key or certificate (${(err as Error).message.slice(0, 80)})`, {
        hint: 'Give the PEM of the WeChat Pay public key (pub_key.pem) or bare base64, usually as file:./pub_key.pem.',
      });
    }
  }
  const certs = settings.platformCertificate;
  if (certs !== undefined && certs !== null && certs !== '') {
    if (typeof certs !== 'string') throw configError('channels.wechatpay.platformCertificate must be PEM text');
    let parsed;
    try {
      parsed = certificatesFrom(certs);
    } catch (err) {
      throw configError(`channels.wechatpay.platformCertificate is not a valid certificate (${(err as Error).message.slice(0, 80)})`);
    }
    if (!parsed.length) throw configError('channels.wechatpay.platformCertificate holds no -----BEGIN CERTIFICATE----- block');
    for (const c of parsed) keys.push(keyFromCertificate(c));
  }
  return keys;
}

const ACCOUNTS = ['BASIC', 'OPERATION', 'FEES'];

const FIELDS: Record<string, FieldSchema> = {
  mchId: {
    type: 'string',
    required: true,
    description: 'Merchant id (商户号), shown in the WeChat Pay merchant platform under Account Centre.',
    check: (z) => text(z).pipe(z.string().regex(/^\d{6,32}$/, { error: 'must be the numeric merchant id (商户号)' })),
  },
  appId: {
    type: 'string',
    required: true,
    description: 'AppID bound to the merchant id (official account, mini program or app) that the payer pays through.',
    check: (z) => text(z).pipe(z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, { error: 'is not an AppID (e.g. wxd678efh567hg6787)' })),
  },
  serialNo: {
    type: 'string',
    required: true,
    description: 'Serial number of the merchant API certificate (apiclient_cert.pem), 40 hex characters, from API Security.',
    check: (z) => text(z).transform((s) => s.toUpperCase()).pipe(z.string().regex(/^[0-9A-F]{8,64}$/, { error: 'must be the hex serial of the merchant API certificate' })),
  },
  privateKey: {
    type: 'pem',
    required: true,
    secret: true,
    description: 'Merchant API private key (apiclient_key.pem) that signs every request; PEM or bare base64, usually file:./apiclient_key.pem.',
    check: (z, where) =>
      text(z).pipe(
        checkedBy(z, where, (pem) => {
          let key: KeyObject;
          try {
            key = privateKeyFrom(pem as string);
          } catch {
            throw configError(`${where} is not a readable private key`, {
              hint: 'Give apiclient_key.pem (PEM, PKCS#8 or PKCS#1) or its bare base64, usually as file:./apiclient_key.pem.',
            });
          }
          if (key.asymmetricKeyType !== 'rsa') throw configError(`${where} must be an RSA key`);
          return key;
        }),
      ),
  },
  apiV3Key: {
    type: 'string',
    required: true,
    secret: true,
    description: 'APIv3 key (32 characters) set under API Security; decrypts notifications and platform certificates.',
    check: (z, where) =>
      text(z).pipe(
        checkedBy(z, where, (key) => {
          const bytes = Buffer.byteLength(key as string, 'utf8');
          if (bytes !== 32) throw configError(`${where} must be 32 characters (it is ${bytes} bytes)`, { hint: 'Copy the APIv3 key from the merchant platform, API Security; it is not the APIv2 key.' });
          return key as string;
        }),
      ),
  },
  // Read by platformKeysFrom (shared with offline verification), after the field checks.
  platformPublicKey: {
    type: 'pem',
    description: 'WeChat Pay public key (or a platform certificate) that verifies responses and notifications; leave out to download platform certificates.',
  },
  platformSerial: { type: 'string', description: 'Id of platformPublicKey: PUB_KEY_ID_... for the WeChat Pay public key, or the certificate serial.' },
  platformCertificate: { type: 'pem', description: 'Platform certificate(s) in PEM, for offline `pay verify` without downloading them.' },
  apiKey: { type: 'string', secret: true, description: 'APIv2 key (32 characters), only needed to verify legacy v2 XML notifications.', check: (z) => text(z) },
  baseUrl: { type: 'url', default: DEFAULT_BASE_URL, description: 'API base URL; the real host by default, or the local sandbox.', check: (z, where) => text(z).pipe(url(z, where)) },
  notifyUrl: {
    type: 'url',
    description: 'HTTPS URL WeChat Pay sends payment, refund and transfer notifications to (required by collect).',
    // Sent to WeChat Pay as configured.
    check: (z, where) => text(z).pipe(url(z, where, 'as-given')),
  },
  transferSceneId: { type: 'string', default: '1000', description: 'Transfer scene id for payouts (商家转账 转账场景ID) granted to the merchant, e.g. 1000 cash marketing.', check: (z) => text(z) },
  transferPerception: { type: 'string', default: '现金奖励', description: 'Reason the payee sees for a payout (用户收款感知), one of those allowed for the scene.', check: (z) => text(z) },
  transferReportInfos: {
    type: 'object',
    description: 'Scene report items for payouts, {"活动名称": "...", "奖励说明": "..."} for scene 1000 (defaults derived from the remark).',
    check: (z) =>
      z.custom<Record<string, string>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'), {
        error: 'must be an object of info_type -> info_content',
      }),
  },
  balanceAccounts: {
    type: 'object',
    default: ['BASIC'],
    description: 'Fund accounts `pay balance` reports: any of BASIC, OPERATION, FEES.',
    check: (z) => z.custom<string[]>((v) => Array.isArray(v) && v.length > 0 && v.every((a) => ACCOUNTS.includes(a as string)), { error: 'must list BASIC, OPERATION and/or FEES' }),
  },
};
// A missing required field points at its sentence.
for (const f of Object.values(FIELDS)) if (f.required) f.missingHint = `Set it in pay.config.json (${f.description}).`;

/** WeChat Pay's settings: each field once, with its sentence, default and check. */
export const WECHATPAY_CONFIG = defineChannelConfig<WechatpayConfig>({
  id: 'wechatpay',
  fields: FIELDS,
  finish: (v) => {
    const platformKeys = platformKeysFrom(v);
    if (v.platformSerial !== undefined && !v.platformPublicKey) {
      throw configError('channels.wechatpay.platformSerial is set without platformPublicKey', { hint: 'Give the WeChat Pay public key too, or remove both to download platform certificates.' });
    }
    if (platformKeys.some((k) => k.kind === 'publicKey' && k.serial === undefined)) {
      throw configError('channels.wechatpay.platformSerial is missing', { hint: 'Give the id of the WeChat Pay public key (PUB_KEY_ID_...), shown beside it in API Security.' });
    }
    return {
      mchId: v.mchId,
      appId: v.appId,
      serialNo: v.serialNo,
      privateKey: v.privateKey,
      apiV3Key: v.apiV3Key,
      platformKeys,
      apiKey: v.apiKey,
      baseUrl: v.baseUrl,
      notifyUrl: v.notifyUrl,
      transferSceneId: v.transferSceneId,
      transferPerception: v.transferPerception,
      transferReportInfos: v.transferReportInfos ?? {},
      balanceAccounts: v.balanceAccounts,
    };
  },
});

/** The fields `pay channels list --json` shows. */
export const WECHATPAY_CONFIG_FIELDS = WECHATPAY_CONFIG.fields;

/** Validates settings, applying defaults; CONFIG_ERROR names the field. */
export const validateWechatpayConfig = WECHATPAY_CONFIG.validate;
