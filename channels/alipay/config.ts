/**
 * Alipay settings: schema (for `pay channels list` and `config show`) and validation, run before
 * any network call. Two key modes, as on Alipay's console: public-key mode (`alipayPublicKey`) and
 * certificate mode (`appCert` + `alipayPublicCert` + `alipayRootCert`, whose serial numbers go on
 * every request and select the key of every answer).
 */
import { createPublicKey } from 'node:crypto';
import { checkedBy, defineChannelConfig, text, url } from '../../src/channel/config-schema.js';
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

/** Alipay's settings: each field once, with its sentence, default and check; the key modes after. */
export const ALIPAY_CONFIG = defineChannelConfig<AlipayConfig>({
  id: 'alipay',
  fields: {
    appId: {
      type: 'string',
      required: true,
      description: 'The application id (APPID) of your app on the Alipay open platform console.',
      missingHint: 'Copy the APPID of your app from the Alipay open platform console.',
      check: (z) => text(z).pipe(z.string().regex(/^\d{8,32}$/, { error: 'must be the numeric APPID (e.g. 2021000000000000)' })),
    },
    privateKey: {
      type: 'pem',
      required: true,
      secret: true,
      description: "Your app's RSA private key that signs every request: PEM (PKCS#1 or PKCS#8) or the bare base64 Alipay's key tool prints, usually as file:PATH.",
      missingHint: 'Give the app private key as file:PATH or env:NAME.',
      check: (z, where) =>
        text(z).pipe(
          checkedBy(z, where, (key) => {
            try {
              loadPrivateKey(key as string);
            } catch {
              throw configError(`${where} is not an RSA private key`, { hint: 'Give PEM (PKCS#1 or PKCS#8) or the bare base64 key from Alipay’s key tool.' });
            }
            // The text as given: the client loads it once.
            return key as string;
          }),
        ),
    },
    alipayPublicKey: { type: 'pem', description: "Public-key mode: Alipay's public key for your app (PEM or bare base64), which checks answers and notifications.", check: (z) => text(z) },
    appCert: { type: 'pem', description: 'Certificate mode: your app public-key certificate (appCertPublicKey_<APPID>.crt); its serial number is sent as app_cert_sn.', check: (z) => text(z) },
    alipayPublicCert: { type: 'pem', description: "Certificate mode: Alipay's public-key certificate (alipayCertPublicKey_RSA2.crt), whose key checks answers and notifications.", check: (z) => text(z) },
    alipayRootCert: { type: 'pem', description: "Certificate mode: Alipay's root certificate bundle (alipayRootCert.crt); its serial numbers are sent as alipay_root_cert_sn.", check: (z) => text(z) },
    // URLs as configured: the gateway keeps its path, and callback URLs reach Alipay verbatim.
    gateway: {
      type: 'url',
      default: DEFAULT_GATEWAY,
      description: 'The OpenAPI gateway URL; point it at `pay sandbox` (…/gateway.do) for local tests.',
      check: (z, where) => text(z).pipe(url(z, where, 'as-given')),
    },
    notifyUrl: {
      type: 'url',
      description: 'Where Alipay posts asynchronous notifications (notify_url); --notify-url overrides it per order.',
      check: (z, where) => text(z).pipe(url(z, where, 'as-given')),
    },
    returnUrl: { type: 'url', description: 'Where the payer returns after page or wap pay (return_url).', check: (z, where) => text(z).pipe(url(z, where, 'as-given')) },
    signType: {
      type: 'string',
      default: 'RSA2',
      description: 'Signature algorithm: RSA2 (SHA256withRSA, the default) or the legacy RSA (SHA1withRSA).',
      check: (z) => text(z).pipe(z.custom<AlipaySignType>((v) => isSignType(v as string), { error: 'must be RSA2 or RSA' })),
    },
    sellerId: {
      type: 'string',
      description: 'Your merchant PID (2088 followed by 12 digits): checked against notifications and bills, and used by the balance query.',
      check: (z) => text(z).pipe(z.string().regex(/^2088\d{12}$/, { error: 'must be a merchant PID: 2088 followed by 12 digits' })),
    },
  },
  checkOrder: ['appId', 'privateKey', 'signType', 'alipayPublicKey', 'appCert', 'alipayPublicCert', 'alipayRootCert', 'sellerId', 'gateway', 'notifyUrl', 'returnUrl'],
  finish: (v, where) => {
    const { appCert, alipayPublicCert, alipayRootCert } = v as Record<string, string | undefined>;
    let alipayPublicKey: string | undefined = v.alipayPublicKey;
    let cert: AlipayConfig['cert'];
    if (appCert || alipayPublicCert || alipayRootCert) {
      const missing = [['appCert', appCert], ['alipayPublicCert', alipayPublicCert], ['alipayRootCert', alipayRootCert]].filter(([, c]) => !c).map(([k]) => where(k as string));
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
      const ours = createPublicKey(loadPrivateKey(v.privateKey)).export({ type: 'spki', format: 'der' });
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
      appId: v.appId,
      privateKey: v.privateKey,
      alipayPublicKey,
      gateway: v.gateway,
      notifyUrl: v.notifyUrl,
      returnUrl: v.returnUrl,
      signType: v.signType,
      sellerId: v.sellerId,
      cert,
    };
  },
});

/** The fields `pay channels list --json` shows. */
export const ALIPAY_CONFIG_FIELDS = ALIPAY_CONFIG.fields;

/** Validates Alipay settings, applying defaults. Messages name the field, never its value. */
export const validateAlipayConfig = ALIPAY_CONFIG.validate;
