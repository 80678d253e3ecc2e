/**
 * WeChat Pay settings: the schema (`pay channels list`, `config show`) and validation before any
 * network call. Key names follow DESIGN.md ("Configuration").
 */
import type { KeyObject } from 'node:crypto';
import { checkUrl } from '../../src/channel/config-checks.js';
import type { ConfigField } from '../../src/channel/contract.js';
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

export const WECHATPAY_CONFIG_FIELDS: ConfigField[] = [
  { key: 'mchId', type: 'string', required: true, description: 'Merchant id (商户号), shown in the WeChat Pay merchant platform under Account Centre.' },
  { key: 'appId', type: 'string', required: true, description: 'AppID bound to the merchant id (official account, mini program or app) that the payer pays through.' },
  { key: 'serialNo', type: 'string', required: true, description: 'Serial number of the merchant API certificate (apiclient_cert.pem), 40 hex characters, from API Security.' },
  { key: 'privateKey', type: 'pem', required: true, secret: true, description: 'Merchant API private key (apiclient_key.pem) that signs every request; PEM or bare base64, usually file:./apiclient_key.pem.' },
  { key: 'apiV3Key', type: 'string', required: true, secret: true, description: 'APIv3 key (32 characters) set under API Security; decrypts notifications and platform certificates.' },
  { key: 'platformPublicKey', type: 'pem', description: 'WeChat Pay public key (or a platform certificate) that verifies responses and notifications; leave out to download platform certificates.' },
  { key: 'platformSerial', type: 'string', description: 'Id of platformPublicKey: PUB_KEY_ID_... for the WeChat Pay public key, or the certificate serial.' },
  { key: 'platformCertificate', type: 'pem', description: 'Platform certificate(s) in PEM, for offline `pay verify` without downloading them.' },
  { key: 'apiKey', type: 'string', secret: true, description: 'APIv2 key (32 characters), only needed to verify legacy v2 XML notifications.' },
  { key: 'baseUrl', type: 'url', default: DEFAULT_BASE_URL, description: 'API base URL; the real host by default, or the local sandbox.' },
  { key: 'notifyUrl', type: 'url', description: 'HTTPS URL WeChat Pay sends payment, refund and transfer notifications to (required by collect).' },
  { key: 'transferSceneId', type: 'string', default: '1000', description: 'Transfer scene id for payouts (商家转账 转账场景ID) granted to the merchant, e.g. 1000 cash marketing.' },
  { key: 'transferPerception', type: 'string', default: '现金奖励', description: 'Reason the payee sees for a payout (用户收款感知), one of those allowed for the scene.' },
  { key: 'transferReportInfos', type: 'object', description: 'Scene report items for payouts, {"活动名称": "...", "奖励说明": "..."} for scene 1000 (defaults derived from the remark).' },
  { key: 'balanceAccounts', type: 'object', default: ['BASIC'], description: 'Fund accounts `pay balance` reports: any of BASIC, OPERATION, FEES.' },
];

function str(settings: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = settings[key];
  if (v === undefined || v === null || v === '') {
    if (required) {
      throw configError(`channels.wechatpay.${key} is missing`, {
        hint: `Set it in pay.config.json (${WECHATPAY_CONFIG_FIELDS.find((f) => f.key === key)?.description ?? ''}).`,
      });
    }
    return undefined;
  }
  if (typeof v !== 'string') throw configError(`channels.wechatpay.${key} must be a string`);
  return v.trim();
}

function url(settings: Record<string, unknown>, key: string, form: 'base' | 'as-given', def?: string): string | undefined {
  const v = str(settings, key, false) ?? def;
  return v === undefined ? undefined : checkUrl(v, `channels.wechatpay.${key}`, form);
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

/** Validates settings, applying defaults; CONFIG_ERROR names the field. */
export function validateWechatpayConfig(settings: Record<string, unknown>): WechatpayConfig {
  const mchId = str(settings, 'mchId', true)!;
  if (!/^\d{6,32}$/.test(mchId)) throw configError('channels.wechatpay.mchId must be the numeric merchant id (商户号)');
  const appId = str(settings, 'appId', true)!;
  if (!/^[A-Za-z0-9_-]{4,64}$/.test(appId)) throw configError('channels.wechatpay.appId is not an AppID (e.g. wxd678efh567hg6787)');
  const serialNo = str(settings, 'serialNo', true)!.toUpperCase();
  if (!/^[0-9A-F]{8,64}$/.test(serialNo)) throw configError('channels.wechatpay.serialNo must be the hex serial of the merchant API certificate');
  const pkText = str(settings, 'privateKey', true)!;
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFrom(pkText);
  } catch {
    throw configError('channels.wechatpay.privateKey is not a readable private key', {
      hint: 'Give apiclient_key.pem (PEM, PKCS#8 or PKCS#1) or its bare base64, usually as file:./apiclient_key.pem.',
    });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw configError('channels.wechatpay.privateKey must be an RSA key');
  const apiV3Key = str(settings, 'apiV3Key', true)!;
  if (Buffer.byteLength(apiV3Key, 'utf8') !== 32) {
    throw configError(`channels.wechatpay.apiV3Key must be 32 characters (it is ${Buffer.byteLength(apiV3Key, 'utf8')} bytes)`, {
      hint: 'Copy the APIv3 key from the merchant platform, API Security; it is not the APIv2 key.',
    });
  }
  const apiKey = str(settings, 'apiKey', false);
  const platformKeys = platformKeysFrom(settings);
  if (typeof settings.platformSerial === 'string' && settings.platformSerial !== '' && !settings.platformPublicKey) {
    throw configError('channels.wechatpay.platformSerial is set without platformPublicKey', { hint: 'Give the WeChat Pay public key too, or remove both to download platform certificates.' });
  }
  const publicKeys = platformKeys.filter((k) => k.kind === 'publicKey');
  if (publicKeys.some((k) => k.serial === undefined)) {
    throw configError('channels.wechatpay.platformSerial is missing', { hint: 'Give the id of the WeChat Pay public key (PUB_KEY_ID_...), shown beside it in API Security.' });
  }
  const infos = settings.transferReportInfos;
  if (infos !== undefined && (typeof infos !== 'object' || infos === null || Array.isArray(infos) || Object.values(infos).some((v) => typeof v !== 'string'))) {
    throw configError('channels.wechatpay.transferReportInfos must be an object of info_type -> info_content');
  }
  const accounts = settings.balanceAccounts ?? ['BASIC'];
  if (!Array.isArray(accounts) || accounts.length === 0 || accounts.some((a) => !['BASIC', 'OPERATION', 'FEES'].includes(a as string))) {
    throw configError('channels.wechatpay.balanceAccounts must list BASIC, OPERATION and/or FEES');
  }
  return {
    mchId,
    appId,
    serialNo,
    privateKey,
    apiV3Key,
    platformKeys,
    apiKey,
    baseUrl: url(settings, 'baseUrl', 'base', DEFAULT_BASE_URL)!,
    // Sent to WeChat Pay as configured.
    notifyUrl: url(settings, 'notifyUrl', 'as-given'),
    transferSceneId: str(settings, 'transferSceneId', false) ?? '1000',
    transferPerception: str(settings, 'transferPerception', false) ?? '现金奖励',
    transferReportInfos: (infos as Record<string, string> | undefined) ?? {},
    balanceAccounts: accounts as string[],
  };
}
