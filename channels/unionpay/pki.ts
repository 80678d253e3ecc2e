/**
 * Builds X.509 certificates and PKCS#12 files with node:crypto, for the sandbox simulator (which
 * plays UnionPay with a three-level chain of its own and hands the merchant a test-only sign
 * certificate) and for tests. Nothing here is used to talk to the real UnionPay.
 */
import { createCipheriv, createHmac, createSign, generateKeyPairSync, pbkdf2Sync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { bitString, bool, explicit, implicitPrimitive, integer, nullValue, octets, oid, printable, seq, set, time, utf8 } from './der.js';
import { pkcs12Kdf } from './pkcs12.js';

/** A distinguished name as ordered attribute pairs, e.g. `[['C','CN'],['O','...'],['CN','...']]`. */
export type DistinguishedName = Array<[string, string]>;

const ATTR_OID: Record<string, string> = { C: '2.5.4.6', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };

function name(dn: DistinguishedName): Buffer {
  return seq(
    ...dn.map(([k, v]) => {
      const o = ATTR_OID[k];
      if (!o) throw new Error(`unsupported name attribute ${k}`);
      // Country is PrintableString by rule; the rest UTF8String (UnionPay CNs carry Chinese).
      return set(seq(oid(o), k === 'C' ? printable(v) : utf8(v)));
    }),
  );
}

/** What a certificate to build says. */
export interface CertificateSpec {
  subject: DistinguishedName;
  issuer: DistinguishedName;
  serial: bigint;
  notBefore: number;
  notAfter: number;
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed root). */
  signingKey: KeyObject;
  /** CA certificate (basicConstraints cA, keyCertSign). */
  ca?: boolean;
  /** Signature hash (default sha256). */
  hash?: 'sha256' | 'sha1';
}

/** Builds and signs a certificate; returns its PEM. */
export function buildCertificate(spec: CertificateSpec): string {
  const sigAlg = seq(oid(spec.hash === 'sha1' ? '1.2.840.113549.1.1.5' : '1.2.840.113549.1.1.11'), nullValue());
  const keyUsage = spec.ca
    ? Buffer.from([0x03, 0x02, 0x01, 0x06]) // keyCertSign | cRLSign
    : Buffer.from([0x03, 0x02, 0x06, 0xc0]); // digitalSignature | nonRepudiation
  const extensions = seq(
    seq(oid('2.5.29.19'), bool(true), octets(spec.ca ? seq(bool(true)) : seq())),
    seq(oid('2.5.29.15'), bool(true), octets(keyUsage)),
  );
  const tbs = seq(
    explicit(0, integer(2)),
    integer(spec.serial),
    sigAlg,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = createSign(spec.hash === 'sha1' ? 'RSA-SHA1' : 'RSA-SHA256').update(tbs).sign(spec.signingKey);
  const der = seq(tbs, sigAlg, bitString(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

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

/** A random positive serial of about 64 bits (UnionPay serials are long decimals). */
export function randomSerial(): bigint {
  return BigInt(`0x${randomBytes(8).toString('hex')}`) | (1n << 62n);
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
