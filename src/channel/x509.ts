/**
 * Just enough X.509 to mint test-only certificates with node:crypto: the sandbox simulators'
 * platform and signing certificates (WeChat Pay, UnionPay, PayPal) and the tests' chains. Node
 * can parse certificates but not create them, and `pay sandbox` must not depend on an `openssl`
 * binary on the user's machine. Nothing here is used on a real API call.
 */
import { createSign, randomBytes, type KeyObject } from 'node:crypto';
import { bitString, bool, explicit, integer, nullValue, octets, oid, printable, seq, set, time, utf8 } from './der.js';

/** A name attribute a certificate here may carry. */
export type NameAttribute = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN';

/** A distinguished name as ordered attribute pairs, e.g. `[['C','CN'],['O','...'],['CN','...']]`. */
export type DistinguishedName = Array<[type: NameAttribute, value: string]>;

const ATTR_OID: Record<NameAttribute, string> = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };

function name(dn: DistinguishedName): Buffer {
  return seq(
    ...dn.map(([k, v]) => {
      const o = ATTR_OID[k];
      if (!o) throw new Error(`unsupported name attribute ${k}`);
      // Country is PrintableString by rule; the rest UTF8String (Chinese company names need it).
      return set(seq(oid(o), k === 'C' ? printable(v) : utf8(v)));
    }),
  );
}

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
    name(spec.issuer ?? spec.subject),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = createSign(spec.hash === 'sha1' ? 'RSA-SHA1' : 'RSA-SHA256').update(tbs).sign(spec.signingKey);
  const der = seq(tbs, sigAlg, bitString(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

/** A random positive serial of about 64 bits (bit 62 set, so it never looks short). */
export function randomSerial(): bigint {
  return BigInt(`0x${randomBytes(8).toString('hex')}`) | (1n << 62n);
}
