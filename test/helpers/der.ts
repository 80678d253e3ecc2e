/**
 * A small ASN.1 reader and writer: just what PKCS#12 files, X.509 certificates and their
 * extensions need (the certificate builder in x509.ts, UnionPay's PKCS#12 reader and writer). The
 * reader accepts BER as well as DER (indefinite lengths and constructed strings), because PKCS#12
 * files written by Java and some CA tools use them.
 */

/** One decoded element. */
export interface Asn1 {
  /** Tag class: 0 universal, 1 application, 2 context-specific, 3 private. */
  cls: number;
  constructed: boolean;
  /** Tag number (low tag form only: enough for every structure used here). */
  tag: number;
  /** Content octets of a primitive element (for constructed strings: the concatenation). */
  value: Buffer;
  /** Children of a constructed element. */
  children: Asn1[];
  /** The whole encoding, header included (for signatures over TBS parts and MACs). */
  raw: Buffer;
}

/** Raised for input that is not ASN.1; callers turn it into their own error. */
export class Asn1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Asn1Error';
  }
}

const MAX_DEPTH = 64;

function readOne(buf: Buffer, offset: number, depth: number): { node: Asn1; next: number } {
  if (depth > MAX_DEPTH) throw new Asn1Error('ASN.1 nesting is too deep');
  if (offset >= buf.length) throw new Asn1Error('ASN.1 element runs past the end of the input');
  const first = buf[offset];
  const cls = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  let pos = offset + 1;
  if (tag === 0x1f) {
    tag = 0;
    let b: number;
    do {
      if (pos >= buf.length) throw new Asn1Error('truncated ASN.1 tag');
      b = buf[pos++];
      tag = tag * 128 + (b & 0x7f);
    } while (b & 0x80);
  }
  if (pos >= buf.length) throw new Asn1Error('truncated ASN.1 length');
  let len = buf[pos++];
  let indefinite = false;
  if (len === 0x80) {
    if (!constructed) throw new Asn1Error('indefinite length on a primitive ASN.1 element');
    indefinite = true;
  } else if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 6 || pos + n > buf.length) throw new Asn1Error('bad ASN.1 length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos++];
  }
  const children: Asn1[] = [];
  let end: number;
  if (indefinite) {
    let p = pos;
    for (;;) {
      if (p + 1 >= buf.length) throw new Asn1Error('indefinite-length ASN.1 element has no end-of-contents');
      if (buf[p] === 0 && buf[p + 1] === 0) {
        end = p + 2;
        break;
      }
      const r = readOne(buf, p, depth + 1);
      children.push(r.node);
      p = r.next;
    }
  } else {
    end = pos + len;
    if (end > buf.length) throw new Asn1Error('ASN.1 element is longer than the input');
    if (constructed) {
      let p = pos;
      while (p < end) {
        const r = readOne(buf, p, depth + 1);
        if (r.next > end) throw new Asn1Error('ASN.1 child overruns its parent');
        children.push(r.node);
        p = r.next;
      }
    }
  }
  const contentEnd = indefinite ? end - 2 : end;
  // A constructed string (BER) carries its value in pieces: join them.
  const value = constructed ? Buffer.concat(children.map((c) => c.value)) : buf.subarray(pos, contentEnd);
  return { node: { cls, constructed, tag, value, children, raw: buf.subarray(offset, end) }, next: end };
}

/** Decodes one element that must fill `buf` exactly. */
export function decode(buf: Buffer): Asn1 {
  const { node, next } = readOne(buf, 0, 0);
  if (next !== buf.length) throw new Asn1Error('trailing bytes after the ASN.1 element');
  return node;
}

/** Universal tag numbers used here. */
export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  BMP_STRING: 30,
} as const;

/** Asserts a universal element of the given tag; returns it. */
export function expect(node: Asn1 | undefined, tag: number, what: string): Asn1 {
  if (!node || node.cls !== 0 || node.tag !== tag) throw new Asn1Error(`${what}: unexpected ASN.1 structure`);
  return node;
}

/** Asserts a context-specific element `[n]`; returns it. */
export function expectContext(node: Asn1 | undefined, n: number, what: string): Asn1 {
  if (!node || node.cls !== 2 || node.tag !== n) throw new Asn1Error(`${what}: expected [${n}]`);
  return node;
}

/** Dotted form of an OBJECT IDENTIFIER's content octets. */
export function oidToString(value: Buffer): string {
  if (value.length === 0) throw new Asn1Error('empty OBJECT IDENTIFIER');
  const parts: number[] = [];
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    n = n * 128 + (value[i] & 0x7f);
    if (!(value[i] & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...parts].join('.');
}

/** The OID of an element (asserting its tag). */
export function readOid(node: Asn1 | undefined, what: string): string {
  return oidToString(expect(node, TAG.OID, what).value);
}

/** A non-negative INTEGER as a bigint. */
export function readBigInt(node: Asn1 | undefined, what: string): bigint {
  const v = expect(node, TAG.INTEGER, what).value;
  if (v.length === 0) throw new Asn1Error(`${what}: empty INTEGER`);
  return BigInt(`0x${v.toString('hex')}`) - (v[0] & 0x80 ? 1n << BigInt(v.length * 8) : 0n);
}

/** A small INTEGER as a number. */
export function readInt(node: Asn1 | undefined, what: string): number {
  const n = readBigInt(node, what);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < 0n) throw new Asn1Error(`${what}: INTEGER out of range`);
  return Number(n);
}

// ---------------------------------------------------------------------------------------------
// Writer (DER)

function lengthBytes(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  let n = len;
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Encodes one element from its identifier octet and content. */
export function tlv(identifier: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([identifier]), lengthBytes(content.length), content]);
}

export const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
/** A SET OF, sorted as DER requires. */
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));
export const octets = (b: Buffer): Buffer => tlv(0x04, b);
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'latin1'));
/** `[n]` EXPLICIT (constructed) wrapper. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
/** `[n]` IMPLICIT primitive. */
export const implicitPrimitive = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);
export const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));

/** INTEGER from a number or bigint (two's complement, minimal). */
export function integer(v: number | bigint): Buffer {
  let n = BigInt(v);
  if (n < 0n) throw new Asn1Error('negative INTEGER is not supported');
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const body: number[] = [];
  const push = (n: number) => {
    const stack = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      stack.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    body.push(...stack);
  };
  push(parts[0] * 40 + parts[1]);
  for (const p of parts.slice(2)) push(p);
  return tlv(0x06, Buffer.from(body));
}

/** BIT STRING with no unused bits. */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));

/** UTCTime for 1950 through 2049, GeneralizedTime outside (RFC 5280). */
export function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = Number(digits.slice(0, 4));
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'latin1')) : tlv(0x18, Buffer.from(`${digits}Z`, 'latin1'));
}
