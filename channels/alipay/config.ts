/**
 * Alipay settings: validation through the schema (config-schema.ts), then the keys and
 * certificates opened, before any network call. Two key modes, as on Alipay's console: public-key
 * mode (`alipayPublicKey`) and certificate mode (`appCert` + `alipayPublicCert` + `alipayRootCert`, whose serial numbers go on
 * every request and select the key of every answer).
 */
import { createPublicKey } from 'node:crypto';
import { checkSettings, fieldsOf } from '../../src/channel/config-schema.js';
import { configError } from '../../src/core/errors.js';
import { certSn, parseCertificatePem, rootCertSn } from './cert.js';
import { schema } from './config-schema.js';
import validate from './config-validate.js';
import { loadPrivateKey, loadPublicKey, type AlipaySignType } from './signature.js';

/** Validated Alipay settings. Key texts stay as given; the client loads them once. */
export interface AlipayConfig extends Record<string, unknown> {
  appId: string;
  /** PEM or bare base64 of the app's RSA private key (secret). */
  privateKey: string;
  /** Alipay's public key (public-key mode), or the key of `alipayPublicCert` (certificate mode). */
  alipayPublicKey: string;
  gateway: string;
  notifyUrl?: string;
  returnUrl?: string;
  signType: AlipaySignType;
  /** The merchant PID (2088...), when configured. */
  sellerId?: string;
  /** Certificate mode, when the three certificates are configured. */
  cert?: {
    appCertSn: string;
    alipayCertSn: string;
    alipayRootCertSn: string;
  };
}

export const ALIPAY_CONFIG_FIELDS = fieldsOf(schema);

const where = (key: string) => `channels.alipay.${key}`;

/** Validates Alipay settings, applying defaults. Messages name the field, never its value. */
export function validateAlipayConfig(settings: Record<string, unknown>): AlipayConfig {
  const { appId, privateKey, appCert, alipayPublicCert, alipayRootCert, ...s } = checkSettings('alipay', schema, validate, settings);
  let priv;
  try {
    priv = loadPrivateKey(privateKey);
  } catch {
    throw configError(`${where('privateKey')} is not an RSA private key`, { hint: 'Give PEM (PKCS#1 or PKCS#8) or the bare base64 key from Alipay’s key tool.' });
  }

  let alipayPublicKey = s.alipayPublicKey;
  let cert: AlipayConfig['cert'];
  if (appCert || alipayPublicCert || alipayRootCert) {
    const missing = [['appCert', appCert], ['alipayPublicCert', alipayPublicCert], ['alipayRootCert', alipayRootCert]].filter(([, v]) => !v).map(([k]) => where(k as string));
    if (missing.length) {
      throw configError(`certificate mode needs ${missing.join(' and ')}`, { hint: 'Give all three certificates, or use public-key mode with alipayPublicKey alone.' });
    }
    let appInfo;
    try {
      appInfo = parseCertificatePem(appCert!);
    } catch {
      throw configError(`${where('appCert')} is not a PEM certificate`);
    }
    // A certificate for another key would make every request fail with isv.invalid-signature.
    const ours = createPublicKey(priv).export({ type: 'spki', format: 'der' });
    if (!ours.equals(appInfo.publicKey.export({ type: 'spki', format: 'der' }))) {
      throw configError(`${where('appCert')} does not belong to ${where('privateKey')}`, { hint: 'Use the certificate Alipay issued for this private key (appCertPublicKey_<APPID>.crt).' });
    }
    let alipayCertSn: string;
    try {
      alipayCertSn = certSn(alipayPublicCert!);
    } catch {
      throw configError(`${where('alipayPublicCert')} is not a PEM certificate`);
    }
    let alipayRootCertSn: string;
    try {
      alipayRootCertSn = rootCertSn(alipayRootCert!);
    } catch (err) {
      throw configError(`${where('alipayRootCert')}: ${(err as Error).message}`);
    }
    cert = { appCertSn: appInfo.sn, alipayCertSn, alipayRootCertSn };
    alipayPublicKey = alipayPublicCert!;
  } else if (!alipayPublicKey) {
    throw configError(`${where('alipayPublicKey')} is missing`, {
      hint: "Give Alipay's public key for your app (public-key mode), or appCert + alipayPublicCert + alipayRootCert (certificate mode).",
    });
  }
  try {
    loadPublicKey(alipayPublicKey);
  } catch {
    throw configError(`${where(cert ? 'alipayPublicCert' : 'alipayPublicKey')} is not an RSA public key or certificate`);
  }

  return {
    appId,
    privateKey,
    alipayPublicKey,
    gateway: s.gateway,
    notifyUrl: s.notifyUrl,
    returnUrl: s.returnUrl,
    signType: s.signType,
    sellerId: s.sellerId,
    cert,
  };
}
