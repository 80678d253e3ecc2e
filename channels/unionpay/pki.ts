/**
 * UnionPay's test-only PKI, for the sandbox simulator (which plays UnionPay with a three-level
 * chain of its own, signing CN `041@...@中国银联股份有限公司@...`, and hands the merchant a
 * test-only sign certificate in a PKCS#12 file) and for tests. Certificates come from the shared
 * builder in src/channel/x509.ts, the PKCS#12 file from node-forge. Nothing here is used to talk to the real UnionPay.
 */
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { forge } from '../../src/channel/forge.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../src/channel/x509.js';

// bench/verify.mjs builds its chains through this module; new code imports src/channel/x509.js.
export { buildCertificate, randomSerial, type CertificateSpec, type DistinguishedName } from '../../src/channel/x509.js';

/** A key pair plus its certificate. */
export interface Issued {
  privateKey: KeyObject;
  publicKey: KeyObject;
  pem: string;
  cert: X509Certificate;
}

function rsa(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** The three-level chain UnionPay signs with (root, middle, signing certificate), test-only. */
export interface TestChain {
  root: Issued;
  middle: Issued;
  /** UnionPay's answer-signing certificate (CN `041@...@中国银联股份有限公司@...`). */
  sign: Issued;
}

/** Options for {@link generateTestChain}. */
export interface TestChainOptions {
  now?: number;
  /** Validity of the signing certificate, ms from `now` (negative: already expired). */
  signValidMs?: number;
  /** Overrides the signing certificate's CN (to test the CN check). */
  signCn?: string;
}

const DAY = 86_400_000;

/** Generates a test-only root -> middle -> signing chain with fresh RSA keys. */
export function generateTestChain(options: TestChainOptions = {}): TestChain {
  const now = options.now ?? Date.now();
  const issue = (subject: DistinguishedName, issuer: DistinguishedName, signingKey: KeyObject | undefined, ca: boolean, notBefore: number, notAfter: number): Issued => {
    const keys = rsa();
    const pem = buildCertificate({ subject, issuer, serial: randomSerial(), notBefore, notAfter, publicKey: keys.publicKey, signingKey: signingKey ?? keys.privateKey, ca });
    return { ...keys, pem, cert: new X509Certificate(pem) };
  };
  const rootDn: DistinguishedName = [['C', 'CN'], ['O', 'pay sandbox (test only)'], ['CN', 'pay sandbox TEST ROOT CA']];
  const middleDn: DistinguishedName = [['C', 'CN'], ['O', 'pay sandbox (test only)'], ['CN', 'pay sandbox TEST OCA1']];
  const root = issue(rootDn, rootDn, undefined, true, now - DAY, now + 3650 * DAY);
  const middle = issue(middleDn, rootDn, root.privateKey, true, now - DAY, now + 3650 * DAY);
  const validMs = options.signValidMs ?? 365 * DAY;
  const notAfter = now + validMs;
  const sign = issue(
    [['C', 'CN'], ['O', 'pay sandbox (test only)'], ['OU', 'Enterprises'], ['CN', options.signCn ?? '041@Z9999999999@中国银联股份有限公司@00000001']],
    middleDn,
    middle.privateKey,
    false,
    Math.min(now - DAY, notAfter - DAY),
    notAfter,
  );
  return { root, middle, sign };
}

/** Issues a merchant sign certificate (self-signed; UnionPay knows it by its serial). */
export function generateMerchantCert(merId: string, now = Date.now()): Issued {
  const keys = rsa();
  const dn: DistinguishedName = [['C', 'CN'], ['O', 'pay sandbox merchant (test only)'], ['CN', `${merId}@pay-sandbox-test-only`]];
  const pem = buildCertificate({ subject: dn, issuer: dn, serial: randomSerial(), notBefore: now - DAY, notAfter: now + 3650 * DAY, publicKey: keys.publicKey, signingKey: keys.privateKey });
  return { ...keys, pem, cert: new X509Certificate(pem) };
}

/**
 * Writes a PKCS#12 file that OpenSSL and our reader open: the key in a PBES2 (PBKDF2, AES-256-CBC)
 * shrouded key bag, the certificates beside it, and an HMAC-SHA1 integrity MAC (node-forge).
 */
export function buildPkcs12(privateKey: KeyObject, certPems: string[], password: string, iterations = 2048): Buffer {
  const { asn1, pkcs12, pki } = forge();
  const key = pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const certs = certPems.map((pem) => pki.certificateFromPem(pem));
  const p12 = pkcs12.toPkcs12Asn1(key, certs, password, { algorithm: 'aes256', count: iterations, saltSize: 8, generateLocalKeyId: true });
  return Buffer.from(asn1.toDer(p12).getBytes(), 'binary');
}
