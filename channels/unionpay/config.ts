/**
 * UnionPay settings: schema (for `pay channels list` and `config show`) and validation, run before
 * any call. Key material is opened here (PKCS#12, PEM) so that a wrong password or a malformed key
 * is a CONFIG_ERROR naming the field, never a failure halfway through a payment. Messages name
 * fields, never values.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { bool, checkedBy, defineChannelConfig, numberIn, text, url, type Z } from '../../src/channel/config-schema.js';
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

/** UnionPay certificates (PEM or base64 DER), kept as configured text. */
function certificates(z: Z, where: string) {
  return text(z, 'must be text').pipe(
    checkedBy(z, where, (v) => {
      let certs: X509Certificate[];
      try {
        certs = readCertificates(v as string);
      } catch {
        throw configError(`${where} is not a certificate (PEM or base64 DER)`);
      }
      if (certs.length === 0) throw configError(`${where} holds no certificate`);
      return v as string;
    }),
  );
}

/** UnionPay's settings: each field once, with its sentence, default and check; key material opened after. */
export const UNIONPAY_CONFIG = defineChannelConfig<UnionPayConfig>({
  id: 'unionpay',
  fields: {
    merId: { type: 'string', required: true, description: 'Merchant code (商户号), 15 characters, from the UnionPay merchant portal (test merchants start with 777).', missingHint: 'Set your 15-character UnionPay merchant code (商户号).', check: (z) => text(z, 'must be text').pipe(z.string().regex(/^[0-9A-Za-z]{15}$/, { error: 'must be the 15-character merchant code' })) },
    signCert: { type: 'string', secret: true, description: 'Your sign certificate (.pfx, PKCS#12) as base64 text: `base64 -w0 acp_sign.pfx > sign.b64`, then "file:sign.b64" (file: reads text, so give the base64, not the binary).', check: (z) => text(z, 'must be text') },
    signCertPassword: { type: 'string', secret: true, description: 'Password of the sign certificate (.pfx) set when it was exported.', blankIsValue: true, check: (z) => z.string({ error: 'is missing\nThe .pfx sign certificate needs its password.' }) },
    privateKey: { type: 'pem', secret: true, description: 'Instead of signCert: the sign certificate\'s RSA private key (PEM or bare base64 PKCS#8/PKCS#1), with certId.', check: (z) => text(z, 'must be text') },
    certId: { type: 'string', description: 'With privateKey: the sign certificate\'s serial number in decimal (certId); read from signCert automatically.', check: (z) => text(z, 'must be text') },
    middleCert: { type: 'pem', description: "UnionPay's middle certificate (acp_prod_middle.cer / acp_test_middle.cer), PEM or base64; answers and notifications must chain to it (5.1.0).", check: (z, where) => certificates(z, where) },
    rootCert: { type: 'pem', description: "UnionPay's root certificate (acp_prod_root.cer / acp_test_root.cer), PEM or base64; the middle certificate must chain to it (5.1.0).", check: (z, where) => certificates(z, where) },
    verifyCert: { type: 'pem', description: "Version 5.0.0 only: UnionPay's verify certificate(s) (acp_*_verify_sign.cer), PEM; chosen by the certId of each answer.", check: (z, where) => certificates(z, where) },
    secureKey: { type: 'string', secret: true, description: 'For signMethod 11: the secure key set in the merchant portal (signs with SHA-256 instead of certificates).', check: (z) => text(z, 'must be text') },
    version: { type: 'string', default: '5.1.0', description: 'Gateway interface version: 5.1.0 (SHA-256, signPubKeyCert) or 5.0.0 (SHA-1, local verify certificate).', check: (z) => text(z, 'must be text').pipe(z.enum(['5.1.0', '5.0.0'], { error: 'must be 5.1.0 or 5.0.0' })) },
    signMethod: { type: 'string', default: '01', description: 'Signature method: 01 (RSA certificates) or 11 (secure key).', check: (z) => text(z, 'must be text').pipe(z.enum(['01', '11'], { error: 'must be 01 (certificates) or 11 (secure key)' })) },
    baseUrl: { type: 'url', default: UNIONPAY_BASE_URL, description: 'Gateway origin (https://gateway.95516.com; test: https://gateway.test.95516.com); point it at `pay sandbox` to use the local simulator.', check: (z, where) => text(z, 'must be text').pipe(url(z, where)) },
    fileBaseUrl: { type: 'url', description: 'File-transfer origin for reconciliation files (default: filedownload.95516.com for the production gateway, filedownload.test.95516.com for the test one, else baseUrl).', check: (z, where) => text(z, 'must be text').pipe(url(z, where)) },
    backUrl: { type: 'url', description: 'Your back notification URL (backUrl): UnionPay POSTs signed results here; --notify-url overrides it per order.', check: (z, where) => text(z, 'must be text').pipe(url(z, where, 'as-given')) },
    frontUrl: { type: 'url', description: 'Where the payer\'s browser returns after a web payment (frontUrl); --return-url overrides it.', check: (z, where) => text(z, 'must be text').pipe(url(z, where, 'as-given')) },
    payTimeoutMinutes: { type: 'number', default: 15, description: 'Minutes the payer has to pay (payTimeout); an unpaid web order UnionPay never saw is closed after this.', check: (z) => numberIn(z, 1, 7 * 24 * 60, { integer: true, fromText: true, message: 'must be a whole number of minutes from 1 to 10080' }) },
    voidSameDay: { type: 'boolean', default: false, description: 'Full refunds on the day of payment (before the 23:00 cut-off) use void (消费撤销, txnType 31), which returns the fee, instead of refund (04).', check: (z) => bool(z) },
    timeoutMs: { type: 'number', description: "Timeout of one API call in milliseconds (default: the shared HTTP client's).", check: (z) => z.custom<number>((v) => typeof v === 'number' && Number.isFinite(v) && v > 0, { error: 'must be a positive number' }) },
  },
  checkOrder: ['merId', 'version', 'signMethod', 'secureKey', 'signCert', 'signCertPassword', 'privateKey', 'certId', 'middleCert', 'rootCert', 'verifyCert', 'baseUrl', 'fileBaseUrl', 'payTimeoutMinutes', 'voidSameDay', 'timeoutMs', 'backUrl', 'frontUrl'],
  finish: (v) => {
    const version = v.version as UnionPayVersion;
    const signMethod = v.signMethod as SignMethod;
    let signer: RsaSigner | undefined;
    const secureKey: string | undefined = v.secureKey;
    if (signMethod === '01') {
      if (v.signCert) {
        if (typeof v.signCertPassword !== 'string') throw configError('channels.unionpay.signCertPassword is missing', { hint: 'The .pfx sign certificate needs its password.' });
        signer = signerFromPkcs12(v.signCert, v.signCertPassword);
      } else if (v.privateKey) {
        const certId: string | undefined = v.certId;
        if (!certId) throw configError('channels.unionpay.certId is missing', { hint: 'With privateKey, give the sign certificate\'s serial number in decimal (or use signCert + signCertPassword).' });
        if (!/^\d{1,40}$/.test(certId)) throw configError('channels.unionpay.certId must be the decimal serial number of the sign certificate');
        signer = { privateKey: privateKeyFrom(v.privateKey), certId };
      } else {
        throw configError('channels.unionpay.signCert is missing', { hint: 'Give signCert + signCertPassword (the .pfx as base64), or privateKey + certId, or use signMethod 11 with secureKey.' });
      }
    } else if (!secureKey) {
      throw configError('channels.unionpay.secureKey is missing', { hint: 'signMethod 11 signs with the secure key set in the merchant portal.' });
    }
    const { middleCert, rootCert, verifyCert } = v as Record<string, string | undefined>;
    if (signMethod === '01' && version === '5.1.0') {
      // Answers are only trusted when their certificate chains to these.
      if (!middleCert) throw configError('channels.unionpay.middleCert is missing', { hint: "Give UnionPay's middle certificate (acp_test_middle.cer for the test gateway)." });
      if (!rootCert) throw configError('channels.unionpay.rootCert is missing', { hint: "Give UnionPay's root certificate (acp_test_root.cer for the test gateway)." });
    }
    if (signMethod === '01' && version === '5.0.0' && !verifyCert) {
      throw configError('channels.unionpay.verifyCert is missing', { hint: "Version 5.0.0 answers are checked with UnionPay's verify certificate (acp_*_verify_sign.cer)." });
    }
    const baseUrl: string = v.baseUrl;
    const config: UnionPayConfig = {
      merId: v.merId,
      version,
      signMethod,
      baseUrl,
      fileBaseUrl: v.fileBaseUrl ?? FILE_HOST_BY_GATEWAY[new URL(baseUrl).host] ?? baseUrl,
      payTimeoutMinutes: v.payTimeoutMinutes,
      voidSameDay: v.voidSameDay,
    };
    if (signer) config.signer = signer;
    if (secureKey) config.secureKey = secureKey;
    if (middleCert) config.middleCert = middleCert;
    if (rootCert) config.rootCert = rootCert;
    if (verifyCert) config.verifyCert = verifyCert;
    if (v.backUrl) config.backUrl = v.backUrl;
    if (v.frontUrl) config.frontUrl = v.frontUrl;
    if (typeof v.timeoutMs === 'number') config.timeoutMs = v.timeoutMs;
    return config;
  },
});

/** The fields `pay channels list --json` shows. */
export const UNIONPAY_CONFIG_FIELDS = UNIONPAY_CONFIG.fields;

/** Validates UnionPay settings, applying defaults and opening key material. */
export const validateUnionPayConfig = UNIONPAY_CONFIG.validate;
