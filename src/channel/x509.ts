/**
 * Just enough X.509 to mint test-only certificates: the sandbox simulators' platform and signing
 * certificates (WeChat Pay, UnionPay, PayPal) and the tests' chains. Node can parse certificates
 * but not create them, and `pay sandbox` must not depend on an `openssl` binary on the user's
 * machine: node-forge encodes the certificate, node:crypto signs it. Nothing here is used on a
 * real API call.
 */
import { createSign, randomBytes, type KeyObject } from 'node:crypto';
import type Forge from 'node-forge';
import { forge } from './forge.js';

/** A name attribute a certificate here may carry. */
export type NameAttribute = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN';

/** A distinguished name as ordered attribute pairs, e.g. `[['C','CN'],['O','...'],['CN','...']]`. */
export type DistinguishedName = Array<[type: NameAttribute, value: string]>;

const ATTRIBUTES: readonly string[] = ['C', 'ST', 'L', 'O', 'OU', 'CN'];

/** What a certificate to build says. */
export interface CertificateSpec {
  subject: DistinguishedName;
  /** The issuer's name; defaults to the subject (self-signed). */
  issuer?: DistinguishedName;
  /** Serial number, positive (WeChat Pay prints it as hex, UnionPay as decimal). */
  serial: bigint;
  /** Validity window, ms since the epoch. */
  notBefore: number;
  notAfter: number;
  /** The certified RSA public key. */
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed certificate). */
  signingKey: KeyObject;
  /** CA certificate (basicConstraints cA, keyCertSign); else an end-entity signing certificate. */
  ca?: boolean;
  /** Signature hash (default sha256). */
  hash?: 'sha256' | 'sha1';
}

/** Builds and signs a version 3 certificate (RSA, SHA-256 unless asked); returns its PEM. */
export function buildCertificate(spec: CertificateSpec): string {
  const { pki, asn1, util } = forge();
  const attributes = (dn: DistinguishedName) =>
    dn.map(([shortName, value]) => {
      if (!ATTRIBUTES.includes(shortName)) throw new Error(`unsupported name attribute ${shortName}`);
      // Country is PrintableString by rule; the rest UTF8String (Chinese company names need it).
      return { shortName, value, valueTagClass: shortName === 'C' ? asn1.Type.PRINTABLESTRING : asn1.Type.UTF8 };
    });
  const cert = pki.createCertificate();
  const hex = spec.serial.toString(16);
  const even = hex.length % 2 ? `0${hex}` : hex;
  cert.serialNumber = /^[89a-f]/.test(even) ? `00${even}` : even; // a positive INTEGER
  cert.validity.notBefore = new Date(spec.notBefore);
  cert.validity.notAfter = new Date(spec.notAfter);
  cert.setSubject(attributes(spec.subject) as unknown as Forge.pki.CertificateField[]);
  cert.setIssuer(attributes(spec.issuer ?? spec.subject) as unknown as Forge.pki.CertificateField[]);
  cert.publicKey = pki.publicKeyFromPem(spec.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: spec.ca === true },
    spec.ca ? { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true } : { name: 'keyUsage', critical: true, digitalSignature: true, nonRepudiation: true },
  ]);
  const algorithm = spec.hash === 'sha1' ? pki.oids.sha1WithRSAEncryption : pki.oids.sha256WithRSAEncryption;
  cert.signatureOid = algorithm;
  (cert as unknown as { siginfo: { algorithmOid: string } }).siginfo.algorithmOid = algorithm;
  const tbs = Buffer.from(asn1.toDer((pki as unknown as { getTBSCertificate(c: Forge.pki.Certificate): Forge.asn1.Asn1 }).getTBSCertificate(cert)).getBytes(), 'binary');
  const signature = createSign(spec.hash === 'sha1' ? 'RSA-SHA1' : 'RSA-SHA256').update(tbs).sign(spec.signingKey);
  cert.signature = util.binary.raw.encode(signature);
  return pki.certificateToPem(cert).replaceAll('\r\n', '\n');
}

/** A random positive serial of about 64 bits (bit 62 set, so it never looks short). */
export function randomSerial(): bigint {
  return BigInt(`0x${randomBytes(8).toString('hex')}`) | (1n << 62n);
}
