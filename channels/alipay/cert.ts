/**
 * Just enough X.509 for Alipay's certificate mode: the serial numbers Alipay puts in
 * `app_cert_sn`, `alipay_root_cert_sn` and `alipay_cert_sn`, and the public key a certificate
 * carries. The SN is `md5(issuer DN in reverse attribute order as "k=v" joined by "," + decimal
 * serial)`, as the official SDKs compute it; the root SN joins the SNs of every RSA-signed
 * certificate of the root bundle with `_` (the bundle also holds SM2 and ECDSA roots, skipped).
 *
 * The issuer is read from the DER with node-forge's ASN.1 reader (not from Node's printed form), so values with commas or
 * non-ASCII text come out exactly as the SDKs see them.
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type Forge from 'node-forge';
import { forge } from '../../src/channel/forge.js';

/** What pay needs from one certificate. */
export interface CertInfo {
  /** Serial number in decimal. */
  serial: string;
  /** Issuer DN as the SDKs print it for the SN: `CN=...,OU=...,O=...,C=...`. */
  issuer: string;
  /** OID of the signature algorithm (1.2.840.113549.1.1.* is RSA). */
  signatureOid: string;
  /** md5(issuer + serial), hex. */
  sn: string;
  publicKey: KeyObject;
  /** Validity window, ms. */
  notBefore: number;
  notAfter: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** The DER of every certificate in a PEM text (a bundle gives several). */
export function certificateDers(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(PEM_CERT)) out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
  return out;
}

// Short names as the official Node SDK (@fidm/x509) prints them.
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'E',
};

function decodeString(tag: number, bytes: Buffer): string {
  switch (tag) {
    case 0x1e: {
      // BMPString: UTF-16BE.
      const le = Buffer.from(bytes);
      le.swap16();
      return le.toString('utf16le');
    }
    case 0x1c: {
      // UniversalString: UTF-32BE.
      let s = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) s += String.fromCodePoint(bytes.readUInt32BE(i));
      return s;
    }
    case 0x14: // T61String: treated as Latin-1, as most tools do.
      return bytes.toString('latin1');
    default:
      return bytes.toString('utf8');
  }
}

/** Parses one DER certificate. Throws on anything that is not an X.509 certificate. */
export function parseCertificate(der: Buffer): CertInfo {
  const x509 = new X509Certificate(der);
  const { asn1 } = forge();
  const fields = tbsFields(der);
  // [0] EXPLICIT version is optional (v1 certificates omit it).
  let i = isVersion(fields[0]) ? 1 : 0;
  const serialNode = fields[i++];
  const sigAlg = fields[i++];
  const issuerNode = fields[i++];
  const universal = (node: Forge.asn1.Asn1 | undefined, type: number) => node?.tagClass === asn1.Class.UNIVERSAL && node.type === type;
  if (!universal(serialNode, asn1.Type.INTEGER) || !sigAlg || !universal(issuerNode, asn1.Type.SEQUENCE)) throw new Error('not an X.509 certificate');
  const serial = BigInt(`0x${bytes(serialNode).toString('hex') || '0'}`).toString(10);
  const signatureOid = oidOf(children(sigAlg)[0]);
  const attributes: string[] = [];
  for (const rdn of children(issuerNode)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      const oid = oidOf(type);
      attributes.push(`${SHORT_NAMES[oid] ?? oid}=${decodeString(value.type, bytes(value))}`);
    }
  }
  const issuer = attributes.reverse().join(',');
  return {
    serial,
    issuer,
    signatureOid,
    sn: createHash('md5').update(issuer + serial, 'utf8').digest('hex'),
    publicKey: x509.publicKey,
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
  };
}

const children = (node: Forge.asn1.Asn1 | undefined): Forge.asn1.Asn1[] => (Array.isArray(node?.value) ? node.value : []);
const bytes = (node: Forge.asn1.Asn1 | undefined): Buffer => Buffer.from(typeof node?.value === 'string' ? node.value : '', 'binary');
const oidOf = (node: Forge.asn1.Asn1 | undefined): string => (typeof node?.value === 'string' ? forge().asn1.derToOid(node.value) : '');
const isVersion = (node: Forge.asn1.Asn1 | undefined): boolean => node?.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC && node.type === 0;

/** The elements of a certificate's TBSCertificate. */
function tbsFields(der: Buffer): Forge.asn1.Asn1[] {
  const { asn1, util } = forge();
  return children(children(asn1.fromDer(util.createBuffer(der.toString('binary')), false))[0]);
}

/** Parses the first certificate of a PEM text; throws a plain Error when there is none. */
export function parseCertificatePem(text: string): CertInfo {
  const [der] = certificateDers(text);
  if (!der) throw new Error('no PEM certificate found');
  return parseCertificate(der);
}

/** The SN of a certificate (`app_cert_sn`, `alipay_cert_sn`). */
export function certSn(pem: string): string {
  return parseCertificatePem(pem).sn;
}

/** The SN of a root bundle (`alipay_root_cert_sn`): RSA-signed certificates only, joined by `_`. */
export function rootCertSn(bundle: string): string {
  const sns: string[] = [];
  for (const der of certificateDers(bundle)) {
    let info: CertInfo;
    try {
      info = parseCertificate(der);
    } catch {
      // An SM2 root may not load in OpenSSL builds without SM2; it would be skipped anyway.
      const f = tbsFields(der);
      const oid = oidOf(children(f[isVersion(f[0]) ? 2 : 1])[0]);
      if (!oid || oid.startsWith('1.2.840.113549.1.1')) throw new Error('unreadable RSA certificate in the root bundle');
      continue;
    }
    if (info.signatureOid.startsWith('1.2.840.113549.1.1')) sns.push(info.sn);
  }
  if (sns.length === 0) throw new Error('no RSA certificate found in the root bundle');
  return sns.join('_');
}
