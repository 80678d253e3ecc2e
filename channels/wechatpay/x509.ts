/**
 * Just enough X.509 to mint the simulator's platform certificates: a DER encoder for a
 * self-signed RSA certificate (SHA256withRSA) with a chosen serial and validity window. Node can
 * parse certificates but not create them, and `pay sandbox` must not depend on an `openssl`
 * binary on the user's machine. Test-only material: nothing here is used on a real API call.
 */
import { createSign, type KeyObject } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(value.length), value]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function integerFromHex(hex: string): Buffer {
  let h = hex.replace(/^0+(?=.)/, '');
  if (h.length % 2) h = `0${h}`;
  let bytes = Buffer.from(h, 'hex');
  // A leading 1 bit would make the serial negative.
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString();
  const year = Number(iso.slice(0, 4));
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050 && year >= 1950 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** Subject/issuer attributes, in order (C, O, OU, CN...). */
export type DistinguishedName = Array<[type: 'C' | 'O' | 'OU' | 'CN' | 'L' | 'ST', value: string]>;

const NAME_OIDS = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' } as const;

function name(dn: DistinguishedName): Buffer {
  return seq(
    ...dn.map(([type, value]) =>
      // Country is a PrintableString; everything else UTF8String (Chinese names need it).
      set(seq(oid(NAME_OIDS[type]), tlv(type === 'C' ? 0x13 : 0x0c, Buffer.from(value, 'utf8')))),
    ),
  );
}

/** What to put in a certificate. */
export interface CertificateOptions {
  /** The certified public key. */
  publicKey: KeyObject;
  /** The key that signs the certificate (its own private key: self-signed). */
  signingKey: KeyObject;
  /** Serial number, hex (WeChat Pay prints serials as uppercase hex). */
  serialHex: string;
  subject: DistinguishedName;
  /** Defaults to the subject (self-signed). */
  issuer?: DistinguishedName;
  notBefore: number;
  notAfter: number;
}

/** Creates a certificate and returns it as PEM. */
export function createCertificate(o: CertificateOptions): string {
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05, Buffer.alloc(0)));
  const spki = o.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version 3
    integerFromHex(o.serialHex),
    sha256WithRsa,
    name(o.issuer ?? o.subject),
    seq(time(o.notBefore), time(o.notAfter)),
    name(o.subject),
    spki,
  );
  const signature = createSign('sha256WithRSAEncryption').update(tbs).sign(o.signingKey);
  const der = seq(tbs, sha256WithRsa, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
