/**
 * UnionPay settings: validation through the schema (config-schema.ts), run before any call. Key
 * material is opened here (PKCS#12, PEM) so that a wrong password or a malformed key is a
 * CONFIG_ERROR naming the field, never a failure halfway through a payment. Messages name fields,
 * never values.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { checkSettings, fieldsOf } from '../../src/channel/config-schema.js';
import { readCertificates, readPrivateKey } from '../../src/channel/pem.js';
import { configError } from '../../src/core/errors.js';
import { schema } from './config-schema.js';
import validate from './config-validate.js';
import { readPkcs12 } from './pkcs12.js';
import { certIdOf, type RsaSigner, type SignMethod, type UnionPayVersion } from './signature.js';

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

export const UNIONPAY_CONFIG_FIELDS = fieldsOf(schema);

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

function certsOk(v: string | undefined, key: string): string | undefined {
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
  const { merId, version, signMethod, secureKey, ...s } = checkSettings('unionpay', schema, validate, settings);
  let signer: RsaSigner | undefined;
  if (signMethod === '01') {
    if (s.signCert) {
      if (s.signCertPassword === undefined) throw configError('channels.unionpay.signCertPassword is missing', { hint: 'The .pfx sign certificate needs its password.' });
      signer = signerFromPkcs12(s.signCert, s.signCertPassword);
    } else if (s.privateKey) {
      if (!s.certId) throw configError('channels.unionpay.certId is missing', { hint: 'With privateKey, give the sign certificate\'s serial number in decimal (or use signCert + signCertPassword).' });
      signer = { privateKey: privateKeyFrom(s.privateKey), certId: s.certId };
    } else {
      throw configError('channels.unionpay.signCert is missing', { hint: 'Give signCert + signCertPassword (the .pfx as base64), or privateKey + certId, or use signMethod 11 with secureKey.' });
    }
  } else if (!secureKey) {
    throw configError('channels.unionpay.secureKey is missing', { hint: 'signMethod 11 signs with the secure key set in the merchant portal.' });
  }

  const middleCert = certsOk(s.middleCert, 'middleCert');
  const rootCert = certsOk(s.rootCert, 'rootCert');
  const verifyCert = certsOk(s.verifyCert, 'verifyCert');
  if (signMethod === '01' && version === '5.1.0') {
    // Answers are only trusted when their certificate chains to these.
    if (!middleCert) throw configError('channels.unionpay.middleCert is missing', { hint: "Give UnionPay's middle certificate (acp_test_middle.cer for the test gateway)." });
    if (!rootCert) throw configError('channels.unionpay.rootCert is missing', { hint: "Give UnionPay's root certificate (acp_test_root.cer for the test gateway)." });
  }
  if (signMethod === '01' && version === '5.0.0' && !verifyCert) {
    throw configError('channels.unionpay.verifyCert is missing', { hint: "Version 5.0.0 answers are checked with UnionPay's verify certificate (acp_*_verify_sign.cer)." });
  }

  const config: UnionPayConfig = {
    merId,
    version,
    signMethod,
    baseUrl: s.baseUrl,
    fileBaseUrl: s.fileBaseUrl ?? FILE_HOST_BY_GATEWAY[new URL(s.baseUrl).host] ?? s.baseUrl,
    payTimeoutMinutes: s.payTimeoutMinutes,
    voidSameDay: s.voidSameDay,
  };
  if (signer) config.signer = signer;
  if (secureKey) config.secureKey = secureKey;
  if (middleCert) config.middleCert = middleCert;
  if (rootCert) config.rootCert = rootCert;
  if (verifyCert) config.verifyCert = verifyCert;
  if (s.backUrl) config.backUrl = s.backUrl;
  if (s.frontUrl) config.frontUrl = s.frontUrl;
  if (s.timeoutMs !== undefined) config.timeoutMs = s.timeoutMs;
  return config;
}
