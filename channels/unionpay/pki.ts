/**
 * UnionPay's test-only PKI, for the sandbox simulator (which plays UnionPay with a three-level
 * chain of its own, signing CN `041@...@中国银联股份有限公司@...`, and hands the merchant a
 * test-only sign certificate in a PKCS#12 file) and for tests. Certificates come from the shared
 * builder in src/channel/x509.ts. Nothing here is used to talk to the real UnionPay.
 */
import { createCipheriv, createHmac, generateKeyPairSync, pbkdf2Sync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { explicit, implicitPrimitive, integer, nullValue, octets, oid, seq } from '../../src/channel/der.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../src/channel/x509.js';
import { pkcs12Kdf } from './pkcs12.js';

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

const OID_DATA = '1.2.840.113549.1.7.1';

/**
 * Writes a PKCS#12 file the way OpenSSL 3 does by default: the key in a PBES2 (PBKDF2-SHA256,
 * AES-256-CBC) shrouded key bag, the certificates in PBES2-encrypted safe contents, and an
 * HMAC-SHA256 integrity MAC.
 */
export function buildPkcs12(privateKey: KeyObject, certPems: string[], password: string, iterations = 2048): Buffer {
  const epki = privateKey.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: password });
  const keyBag = seq(oid('1.2.840.113549.1.12.10.1.2'), explicit(0, epki));
  const certBags = certPems.map((pem) =>
    seq(oid('1.2.840.113549.1.12.10.1.3'), explicit(0, seq(oid('1.2.840.113549.1.9.22.1'), explicit(0, octets(new X509Certificate(pem).raw))))),
  );
  // Encrypt the certificate bags with PBES2 as well (what `openssl pkcs12 -export` does).
  const salt = randomBytes(8);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(seq(...certBags)), cipher.final()]);
  const pbes2 = seq(
    oid('1.2.840.113549.1.5.13'),
    seq(
      seq(oid('1.2.840.113549.1.5.12'), seq(octets(salt), integer(iterations), seq(oid('1.2.840.113549.2.9'), nullValue()))),
      seq(oid('2.16.840.1.101.3.4.1.42'), octets(iv)),
    ),
  );
  const encryptedData = seq(oid('1.2.840.113549.1.7.6'), explicit(0, seq(integer(0), seq(oid(OID_DATA), pbes2, implicitPrimitive(0, encrypted)))));
  const keyData = seq(oid(OID_DATA), explicit(0, octets(seq(keyBag))));
  const authenticatedSafe = seq(encryptedData, keyData);
  const macSalt = randomBytes(8);
  const macKey = pkcs12Kdf({ name: 'sha256', blockSize: 64, size: 32 }, Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]), macSalt, 3, iterations, 32);
  const mac = createHmac('sha256', macKey).update(authenticatedSafe).digest();
  return seq(
    integer(3),
    seq(oid(OID_DATA), explicit(0, octets(authenticatedSafe))),
    seq(seq(seq(oid('2.16.840.1.101.3.4.2.1'), nullValue()), octets(mac)), octets(macSalt), integer(iterations)),
  );
}
