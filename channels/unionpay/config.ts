/**
 * UnionPay settings: schema (for `pay channels list` and `config show`) and validation, run before
 * any call. Key material is opened here (PKCS#12, PEM) so that a wrong password or a malformed key
 * is a CONFIG_ERROR naming the field, never a failure halfway through a payment. Messages name
 * fields, never values.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { checkUrl } from '../../src/channel/config-checks.js';
import type { ConfigField } from '../../src/channel/contract.js';
import { readCertificates, readPrivateKey } from '../../src/channel/pem.js';
import { configError } from '../../src/core/errors.js';
import { readPkcs12 } from './pkcs12.js';
import { certIdOf, type RsaSigner, type SignMethod, type UnionPayVersion } from './signature.js';

/** UnionPay's production gateway origin (paths `/gateway/api/...`). */
export const UNIONPAY_BASE_URL = 'https://gateway.95516.com';
/** Where reconciliation files are fetched (file transfer, txnType 76), by gateway host. */
const FILE_HOST_BY_GATEWAY: Record<string, string> = {
  'gateway.95516.com': 'https://filedownload.95516.com',
  'gateway.test.95516.com': 'https://filedownload.test.95516.com',
};

/** Validated UnionPay settings. */
export interface UnionPayConfig extends Record<string, unknown> {
  /** 15-character merchant code. */
  merId: string;
  version: UnionPayVersion;
  signMethod: SignMethod;
  /** Private key and certId (signMethod 01). */
  signer?: RsaSigner;
  /** Shared secure key (signMethod 11). */
  secureKey?: string;
  /** UnionPay's middle and root certificates (text as configured; used to trust answers). */
  middleCert?: string;
  rootCert?: string;
  /** UnionPay's 5.0.0 verify certificates (text as configured). */
  verifyCert?: string;
  /** Gateway origin, no trailing slash. */
  baseUrl: string;
  /** File-transfer origin, no trailing slash. */
  fileBaseUrl: string;
  /** Back notification URL (backUrl) used when a request names none. */
  backUrl?: string;
  /** Front return URL (frontUrl) for web payments. */
  frontUrl?: string;
  /** Minutes the payer has to pay a web or app order (payTimeout). */
  payTimeoutMinutes: number;
  /** Full refunds on the day of payment use void (txnType 31) instead of refund (04). */
  voidSameDay: boolean;
  /** Per-call timeout, ms (the shared client's default when absent). */
  timeoutMs?: number;
}

export const UNIONPAY_CONFIG_FIELDS: ConfigField[] = [
  { key: 'merId', type: 'string', required: true, description: 'Merchant code (商户号), 15 characters, from the UnionPay merchant portal (test merchants start with 777).' },
  { key: 'signCert', type: 'string', secret: true, description: 'Your sign certificate (.pfx, PKCS#12) as base64 text: `base64 -w0 acp_sign.pfx > sign.b64`, then "file:sign.b64" (file: reads text, so give the base64, not the binary).' },
  { key: 'signCertPassword', type: 'string', secret: true, description: 'Password of the sign certificate (.pfx) set when it was exported.' },
  { key: 'privateKey', type: 'pem', secret: true, description: 'Instead of signCert: the sign certificate\'s RSA private key (PEM or bare base64 PKCS#8/PKCS#1), with certId.' },
  { key: 'certId', type: 'string', description: 'With privateKey: the sign certificate\'s serial number in decimal (certId); read from signCert automatically.' },
  { key: 'middleCert', type: 'pem', description: "UnionPay's middle certificate (acp_prod_middle.cer / acp_test_middle.cer), PEM or base64; answers and notifications must chain to it (5.1.0)." },
  { key: 'rootCert', type: 'pem', description: "UnionPay's root certificate (acp_prod_root.cer / acp_test_root.cer), PEM or base64; the middle certificate must chain to it (5.1.0)." },
  { key: 'verifyCert', type: 'pem', description: "Version 5.0.0 only: UnionPay's verify certificate(s) (acp_*_verify_sign.cer), PEM; chosen by the certId of each answer." },
  { key: 'secureKey', type: 'string', secret: true, description: 'For signMethod 11: the secure key set in the merchant portal (signs with SHA-256 instead of certificates).' },
  { key: 'version', type: 'string', default: '5.1.0', description: 'Gateway interface version: 5.1.0 (SHA-256, signPubKeyCert) or 5.0.0 (SHA-1, local verify certificate).' },
  { key: 'signMethod', type: 'string', default: '01', description: 'Signature method: 01 (RSA certificates) or 11 (secure key).' },
  { key: 'baseUrl', type: 'url', default: UNIONPAY_BASE_URL, description: 'Gateway origin (https://gateway.95516.com; test: https://gateway.test.95516.com); point it at `pay sandbox` to use the local simulator.' },
  { key: 'fileBaseUrl', type: 'url', description: 'File-transfer origin for reconciliation files (default: filedownload.95516.com for the production gateway, filedownload.test.95516.com for the test one, else baseUrl).' },
  { key: 'backUrl', type: 'url', description: 'Your back notification URL (backUrl): UnionPay POSTs signed results here; --notify-url overrides it per order.' },
  { key: 'frontUrl', type: 'url', description: 'Where the payer\'s browser returns after a web payment (frontUrl); --return-url overrides it.' },
  { key: 'payTimeoutMinutes', type: 'number', default: 15, description: 'Minutes the payer has to pay (payTimeout); an unpaid web order UnionPay never saw is closed after this.' },
  { key: 'voidSameDay', type: 'boolean', default: false, description: 'Full refunds on the day of payment (before the 23:00 cut-off) use void (消费撤销, txnType 31), which returns the fee, instead of refund (04).' },
  { key: 'timeoutMs', type: 'number', description: "Timeout of one API call in milliseconds (default: the shared HTTP client's)." },
];

function str(settings: Record<string, unknown>, key: string): string | undefined {
  const v = settings[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw configError(`channels.unionpay.${key} must be text`);
  return v.trim();
}

function url(settings: Record<string, unknown>, key: string, origin = false): string | undefined {
  const v = str(settings, key);
  return v === undefined ? undefined : checkUrl(v, `channels.unionpay.${key}`, origin ? 'base' : 'as-given');
}

/** Opens the PKCS#12 sign certificate given as base64 text. */
function signerFromPkcs12(b64: string, password: string): RsaSigner {
  if (b64.includes('\uFFFD') || /[^A-Za-z0-9+/=\s-]/.test(b64.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, ''))) {
    throw configError('channels.unionpay.signCert must be the .pfx file as base64 text', {
      hint: 'file: reads text, so a binary .pfx arrives damaged: run `base64 -w0 acp_sign.pfx > acp_sign.pfx.b64` and set signCert to "file:acp_sign.pfx.b64".',
    });
  }
  const der = Buffer.from(b64.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  try {
    const p12 = readPkcs12(der, password);
    return { privateKey: p12.privateKey, certId: certIdOf(p12.certificate) };
  } catch (err) {
    const e = err as Error & { kind?: string };
    if (e.kind === 'password') throw configError('channels.unionpay.signCertPassword does not open signCert', { hint: 'Check the password the .pfx was exported with.' });
    throw configError(`channels.unionpay.signCert cannot be read: ${e.message}`, { hint: 'Give the PKCS#12 (.pfx) sign certificate UnionPay issued, base64-encoded.' });
  }
}

function privateKeyFrom(text: string): KeyObject {
  try {
    return readPrivateKey(text);
  } catch {
    throw configError('channels.unionpay.privateKey is not an RSA private key (PEM, or bare base64 PKCS#8/PKCS#1)');
  }
}

function certsOk(settings: Record<string, unknown>, key: string): string | undefined {
  const v = str(settings, key);
  if (v === undefined) return undefined;
  let certs: X509Certificate[];
  try {
    certs = readCertificates(v);
  } catch {
    throw configError(`channels.unionpay.${key} is not a certificate (PEM or base64 DER)`);
  }
  if (certs.length === 0) throw configError(`channels.unionpay.${key} holds no certificate`);
  return v;
}

/** Validates UnionPay settings, applying defaults and opening key material. */
export function validateUnionPayConfig(settings: Record<string, unknown>): UnionPayConfig {
  const merId = str(settings, 'merId');
  if (!merId) throw configError('channels.unionpay.merId is missing', { hint: 'Set your 15-character UnionPay merchant code (商户号).' });
  if (!/^[0-9A-Za-z]{15}$/.test(merId)) throw configError('channels.unionpay.merId must be the 15-character merchant code');
  const version = (str(settings, 'version') ?? '5.1.0') as UnionPayVersion;
  if (version !== '5.1.0' && version !== '5.0.0') throw configError('channels.unionpay.version must be 5.1.0 or 5.0.0');
  const signMethod = (str(settings, 'signMethod') ?? '01') as SignMethod;
  if (signMethod !== '01' && signMethod !== '11') throw configError('channels.unionpay.signMethod must be 01 (certificates) or 11 (secure key)');

  let signer: RsaSigner | undefined;
  const secureKey = str(settings, 'secureKey');
  if (signMethod === '01') {
    const signCert = str(settings, 'signCert');
    const privateKey = str(settings, 'privateKey');
    if (signCert) {
      const password = settings.signCertPassword;
      if (typeof password !== 'string') throw configError('channels.unionpay.signCertPassword is missing', { hint: 'The .pfx sign certificate needs its password.' });
      signer = signerFromPkcs12(signCert, password);
    } else if (privateKey) {
      const certId = str(settings, 'certId');
      if (!certId) throw configError('channels.unionpay.certId is missing', { hint: 'With privateKey, give the sign certificate\'s serial number in decimal (or use signCert + signCertPassword).' });
      if (!/^\d{1,40}$/.test(certId)) throw configError('channels.unionpay.certId must be the decimal serial number of the sign certificate');
      signer = { privateKey: privateKeyFrom(privateKey), certId };
    } else {
      throw configError('channels.unionpay.signCert is missing', { hint: 'Give signCert + signCertPassword (the .pfx as base64), or privateKey + certId, or use signMethod 11 with secureKey.' });
    }
  } else if (!secureKey) {
    throw configError('channels.unionpay.secureKey is missing', { hint: 'signMethod 11 signs with the secure key set in the merchant portal.' });
  }

  const middleCert = certsOk(settings, 'middleCert');
  const rootCert = certsOk(settings, 'rootCert');
  const verifyCert = certsOk(settings, 'verifyCert');
  if (signMethod === '01' && version === '5.1.0') {
    // Answers are only trusted when their certificate chains to these.
    if (!middleCert) throw configError('channels.unionpay.middleCert is missing', { hint: "Give UnionPay's middle certificate (acp_test_middle.cer for the test gateway)." });
    if (!rootCert) throw configError('channels.unionpay.rootCert is missing', { hint: "Give UnionPay's root certificate (acp_test_root.cer for the test gateway)." });
  }
  if (signMethod === '01' && version === '5.0.0' && !verifyCert) {
    throw configError('channels.unionpay.verifyCert is missing', { hint: "Version 5.0.0 answers are checked with UnionPay's verify certificate (acp_*_verify_sign.cer)." });
  }

  const baseUrl = url(settings, 'baseUrl', true) ?? UNIONPAY_BASE_URL;
  const fileBaseUrl = url(settings, 'fileBaseUrl', true) ?? FILE_HOST_BY_GATEWAY[new URL(baseUrl).host] ?? baseUrl;
  const minutes = settings.payTimeoutMinutes ?? 15;
  const payTimeoutMinutes = typeof minutes === 'string' && minutes.trim() !== '' ? Number(minutes) : minutes;
  if (typeof payTimeoutMinutes !== 'number' || !Number.isInteger(payTimeoutMinutes) || payTimeoutMinutes < 1 || payTimeoutMinutes > 7 * 24 * 60) {
    throw configError('channels.unionpay.payTimeoutMinutes must be a whole number of minutes from 1 to 10080');
  }
  const voidSameDay = settings.voidSameDay ?? false;
  if (typeof voidSameDay !== 'boolean') throw configError('channels.unionpay.voidSameDay must be true or false');
  const timeout = settings.timeoutMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)) throw configError('channels.unionpay.timeoutMs must be a positive number');

  const config: UnionPayConfig = {
    merId,
    version,
    signMethod,
    baseUrl,
    fileBaseUrl,
    payTimeoutMinutes,
    voidSameDay,
  };
  if (signer) config.signer = signer;
  if (secureKey) config.secureKey = secureKey;
  if (middleCert) config.middleCert = middleCert;
  if (rootCert) config.rootCert = rootCert;
  if (verifyCert) config.verifyCert = verifyCert;
  const backUrl = url(settings, 'backUrl');
  const frontUrl = url(settings, 'frontUrl');
  if (backUrl) config.backUrl = backUrl;
  if (frontUrl) config.frontUrl = frontUrl;
  if (typeof timeout === 'number') config.timeoutMs = timeout;
  return config;
}
