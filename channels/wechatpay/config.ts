/**
 * WeChat Pay settings: validation through the schema (config-schema.ts), then the keys opened,
 * before any network call.
 */
import type { KeyObject } from 'node:crypto';
import { checkSettings, fieldsOf } from '../../src/channel/config-schema.js';
import { configError } from '../../src/core/errors.js';
import { schema } from './config-schema.js';
import validate from './config-validate.js';
import { certificatesFrom, keyFromCertificate, privateKeyFrom, publicKeyFrom, type PlatformKey } from './signature.js';

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

export const WECHATPAY_CONFIG_FIELDS = fieldsOf(schema);

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
  const s = checkSettings('wechatpay', schema, validate, settings);
  let privateKey: KeyObject;
  try {
    privateKey = privateKeyFrom(s.privateKey);
  } catch {
    throw configError('channels.wechatpay.privateKey is not a readable private key', {
      hint: 'Give apiclient_key.pem (PEM, PKCS#8 or PKCS#1) or its bare base64, usually as file:./apiclient_key.pem.',
    });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw configError('channels.wechatpay.privateKey must be an RSA key');
  if (Buffer.byteLength(s.apiV3Key, 'utf8') !== 32) {
    throw configError(`channels.wechatpay.apiV3Key must be 32 characters (it is ${Buffer.byteLength(s.apiV3Key, 'utf8')} bytes)`, {
      hint: 'Copy the APIv3 key from the merchant platform, API Security; it is not the APIv2 key.',
    });
  }
  const platformKeys = platformKeysFrom(s);
  if (s.platformSerial !== undefined && !s.platformPublicKey) {
    throw configError('channels.wechatpay.platformSerial is set without platformPublicKey', { hint: 'Give the WeChat Pay public key too, or remove both to download platform certificates.' });
  }
  if (platformKeys.some((k) => k.kind === 'publicKey' && k.serial === undefined)) {
    throw configError('channels.wechatpay.platformSerial is missing', { hint: 'Give the id of the WeChat Pay public key (PUB_KEY_ID_...), shown beside it in API Security.' });
  }
  return {
    mchId: s.mchId,
    appId: s.appId,
    serialNo: s.serialNo.toUpperCase(),
    privateKey,
    apiV3Key: s.apiV3Key,
    platformKeys,
    apiKey: s.apiKey,
    baseUrl: s.baseUrl,
    notifyUrl: s.notifyUrl,
    transferSceneId: s.transferSceneId,
    transferPerception: s.transferPerception,
    transferReportInfos: (s.transferReportInfos as Record<string, string> | undefined) ?? {},
    balanceAccounts: s.balanceAccounts as string[],
  };
}
