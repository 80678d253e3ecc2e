/**
 * Alipay settings: schema (for `pay channels list` and `config show`) and validation, run before
 * any network call. Two key modes, as on Alipay's console: public-key mode (`alipayPublicKey`) and
 * certificate mode (`appCert` + `alipayPublicCert` + `alipayRootCert`, whose serial numbers go on
 * every request and select the key of every answer).
 */
import { createPublicKey } from 'node:crypto';
import { checkUrl } from '../../src/channel/config-checks.js';
import type { ConfigField } from '../../src/channel/contract.js';
import { configError } from '../../src/core/errors.js';
import { certSn, parseCertificatePem, rootCertSn } from './cert.js';
import { isSignType, loadPrivateKey, loadPublicKey, type AlipaySignType } from './signature.js';

/** Alipay's production gateway. */
export const DEFAULT_GATEWAY = 'https://openapi.alipay.com/gateway.do';

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

export const ALIPAY_CONFIG_FIELDS: ConfigField[] = [
  { key: 'appId', type: 'string', required: true, description: 'The application id (APPID) of your app on the Alipay open platform console.' },
  { key: 'privateKey', type: 'pem', required: true, secret: true, description: "Your app's RSA private key that signs every request: PEM (PKCS#1 or PKCS#8) or the bare base64 Alipay's key tool prints, usually as file:PATH." },
  { key: 'alipayPublicKey', type: 'pem', description: "Public-key mode: Alipay's public key for your app (PEM or bare base64), which checks answers and notifications." },
  { key: 'appCert', type: 'pem', description: 'Certificate mode: your app public-key certificate (appCertPublicKey_<APPID>.crt); its serial number is sent as app_cert_sn.' },
  { key: 'alipayPublicCert', type: 'pem', description: "Certificate mode: Alipay's public-key certificate (alipayCertPublicKey_RSA2.crt), whose key checks answers and notifications." },
  { key: 'alipayRootCert', type: 'pem', description: "Certificate mode: Alipay's root certificate bundle (alipayRootCert.crt); its serial numbers are sent as alipay_root_cert_sn." },
  { key: 'gateway', type: 'url', default: DEFAULT_GATEWAY, description: 'The OpenAPI gateway URL; point it at `pay sandbox` (…/gateway.do) for local tests.' },
  { key: 'notifyUrl', type: 'url', description: 'Where Alipay posts asynchronous notifications (notify_url); --notify-url overrides it per order.' },
  { key: 'returnUrl', type: 'url', description: 'Where the payer returns after page or wap pay (return_url).' },
  { key: 'signType', type: 'string', default: 'RSA2', description: 'Signature algorithm: RSA2 (SHA256withRSA, the default) or the legacy RSA (SHA1withRSA).' },
  { key: 'sellerId', type: 'string', description: 'Your merchant PID (2088 followed by 12 digits): checked against notifications and bills, and used by the balance query.' },
];

const where = (key: string) => `channels.alipay.${key}`;

function text(settings: Record<string, unknown>, key: string): string | undefined {
  const v = settings[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw configError(`${where(key)} must be a string`);
  return v.trim();
}

function url(settings: Record<string, unknown>, key: string): string | undefined {
  const v = text(settings, key);
  // As configured: the gateway keeps its path, and callback URLs reach Alipay verbatim.
  return v === undefined ? undefined : checkUrl(v, where(key), 'as-given');
}

/** Validates Alipay settings, applying defaults. Messages name the field, never its value. */
export function validateAlipayConfig(settings: Record<string, unknown>): AlipayConfig {
  const appId = text(settings, 'appId');
  if (!appId) throw configError(`${where('appId')} is missing`, { hint: 'Copy the APPID of your app from the Alipay open platform console.' });
  if (!/^\d{8,32}$/.test(appId)) throw configError(`${where('appId')} must be the numeric APPID (e.g. 2021000000000000)`);

  const privateKey = text(settings, 'privateKey');
  if (!privateKey) throw configError(`${where('privateKey')} is missing`, { hint: 'Give the app private key as file:PATH or env:NAME.' });
  let priv;
  try {
    priv = loadPrivateKey(privateKey);
  } catch {
    throw configError(`${where('privateKey')} is not an RSA private key`, { hint: 'Give PEM (PKCS#1 or PKCS#8) or the bare base64 key from Alipay’s key tool.' });
  }

  const signType = text(settings, 'signType') ?? 'RSA2';
  if (!isSignType(signType)) throw configError(`${where('signType')} must be RSA2 or RSA`);

  const appCert = text(settings, 'appCert');
  const alipayPublicCert = text(settings, 'alipayPublicCert');
  const alipayRootCert = text(settings, 'alipayRootCert');
  let alipayPublicKey = text(settings, 'alipayPublicKey');
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

  const sellerId = text(settings, 'sellerId');
  if (sellerId !== undefined && !/^2088\d{12}$/.test(sellerId)) throw configError(`${where('sellerId')} must be a merchant PID: 2088 followed by 12 digits`);

  return {
    appId,
    privateKey,
    alipayPublicKey,
    gateway: url(settings, 'gateway') ?? DEFAULT_GATEWAY,
    notifyUrl: url(settings, 'notifyUrl'),
    returnUrl: url(settings, 'returnUrl'),
    signType,
    sellerId,
    cert,
  };
}
