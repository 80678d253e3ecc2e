/**
 * Reads PKCS#12 (.pfx / .p12) files, the form in which UnionPay hands merchants their signing
 * certificate (`signCert` + `signCertPassword`). node:crypto cannot open PKCS#12, so this module
 * walks the structure itself (RFC 7292) and uses node:crypto for every primitive it can.
 *
 * Supported: the integrity MAC (HMAC with SHA-1/SHA-256/SHA-384/SHA-512 and the PKCS#12 key
 * derivation), unencrypted and password-encrypted safe contents and shrouded key bags with the
 * legacy PKCS#12 schemes (3DES, RC2-40, RC2-128; what CFCA and older OpenSSL write) and PBES2
 * (PBKDF2 with AES-CBC or 3DES; what OpenSSL 3 writes by default). Public-key integrity/privacy
 * modes (rare, never used for UnionPay certificates) are refused with a clear message.
 */
import { createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, pbkdf2Sync, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { Asn1Error, decode, expect, expectContext, readInt, readOid, TAG, type Asn1 } from '../../src/channel/der.js';
import { rc2CbcDecrypt } from './rc2.js';

/** Why a PKCS#12 file could not be opened. */
export class Pkcs12Error extends Error {
  constructor(
    message: string,
    /** `password`: the password does not open the file; `format`: not PKCS#12 or unsupported. */
    readonly kind: 'password' | 'format',
  ) {
    super(message);
    this.name = 'Pkcs12Error';
  }
}

/** What a PKCS#12 file holds that pay needs. */
export interface Pkcs12Contents {
  /** The private key. */
  privateKey: KeyObject;
  /** The certificate whose public key matches the private key. */
  certificate: X509Certificate;
  /** Every certificate in the file (the matching one included). */
  certificates: X509Certificate[];
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbeSha1Rc2_128: '1.2.840.113549.1.12.1.5',
  pbeSha1Rc2_40: '1.2.840.113549.1.12.1.6',
  pbeSha1Des3: '1.2.840.113549.1.12.1.3',
  pbeSha1Des2: '1.2.840.113549.1.12.1.4',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
} as const;

const HASH_BY_OID: Record<string, { name: string; blockSize: number; size: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', blockSize: 64, size: 20 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', blockSize: 64, size: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', blockSize: 128, size: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', blockSize: 128, size: 64 },
};

const PRF_BY_OID: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHER_BY_OID: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};

/** The password as PKCS#12 wants it for its own key derivation: UTF-16BE with a 0x0000 terminator. */
function bmpPassword(password: string): Buffer {
  return Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]);
}

/** RFC 7292 appendix B.2 key derivation (ID 1: key, 2: IV, 3: MAC key). */
export function pkcs12Kdf(hash: { name: string; blockSize: number; size: number }, password: Buffer, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const v = hash.blockSize;
  const fill = (src: Buffer) => {
    if (src.length === 0) return Buffer.alloc(0);
    const n = v * Math.ceil(src.length / v);
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = src[i % src.length];
    return out;
  };
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([fill(salt), fill(password)]);
  const chunks: Buffer[] = [];
  let produced = 0;
  while (produced < length) {
    let a = createHash(hash.name).update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = createHash(hash.name).update(a).digest();
    chunks.push(a);
    produced += a.length;
    if (produced >= length) break;
    // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
    const b = Buffer.alloc(v);
    for (let k = 0; k < v; k++) b[k] = a[k % a.length];
    for (let off = 0; off < i.length; off += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i[off + k] + b[k] + carry;
        i[off + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(chunks).subarray(0, length);
}

const SHA1 = HASH_BY_OID['1.3.14.3.2.26'];

/** Decrypts content encrypted under a password-based AlgorithmIdentifier. */
function decryptWith(algorithm: Asn1, password: string, data: Buffer): Buffer {
  const algOid = readOid(algorithm.children[0], 'encryption algorithm');
  const params = algorithm.children[1];
  try {
    if (algOid === OID.pbes2) {
      const kdf = expect(params?.children[0], TAG.SEQUENCE, 'PBES2 key derivation');
      const scheme = expect(params?.children[1], TAG.SEQUENCE, 'PBES2 encryption scheme');
      if (readOid(kdf.children[0], 'PBES2 KDF') !== OID.pbkdf2) throw new Pkcs12Error('unsupported PBES2 key derivation (only PBKDF2)', 'format');
      const kp = expect(kdf.children[1], TAG.SEQUENCE, 'PBKDF2 parameters');
      const salt = expect(kp.children[0], TAG.OCTET_STRING, 'PBKDF2 salt').value;
      const iterations = readInt(kp.children[1], 'PBKDF2 iterations');
      let prf = 'sha1';
      for (const extra of kp.children.slice(2)) {
        if (extra.tag === TAG.SEQUENCE) {
          const p = PRF_BY_OID[readOid(extra.children[0], 'PBKDF2 PRF')];
          if (!p) throw new Pkcs12Error('unsupported PBKDF2 PRF', 'format');
          prf = p;
        }
      }
      const cipher = CIPHER_BY_OID[readOid(scheme.children[0], 'PBES2 cipher')];
      if (!cipher) throw new Pkcs12Error('unsupported PBES2 cipher', 'format');
      const iv = expect(scheme.children[1], TAG.OCTET_STRING, 'PBES2 IV').value;
      // PBES2 takes the password's bytes as they are (OpenSSL: UTF-8).
      const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.keyLength, prf);
      const d = createDecipheriv(cipher.name, key, iv);
      return Buffer.concat([d.update(data), d.final()]);
    }
    const p = expect(params, TAG.SEQUENCE, 'PBE parameters');
    const salt = expect(p.children[0], TAG.OCTET_STRING, 'PBE salt').value;
    const iterations = readInt(p.children[1], 'PBE iterations');
    const pw = bmpPassword(password);
    switch (algOid) {
      case OID.pbeSha1Des3:
      case OID.pbeSha1Des2: {
        const two = algOid === OID.pbeSha1Des2;
        let key = pkcs12Kdf(SHA1, pw, salt, 1, iterations, two ? 16 : 24);
        if (two) key = Buffer.concat([key, key.subarray(0, 8)]);
        const iv = pkcs12Kdf(SHA1, pw, salt, 2, iterations, 8);
        const d = createDecipheriv('des-ede3-cbc', key, iv);
        return Buffer.concat([d.update(data), d.final()]);
      }
      case OID.pbeSha1Rc2_40:
      case OID.pbeSha1Rc2_128: {
        const bits = algOid === OID.pbeSha1Rc2_40 ? 40 : 128;
        const key = pkcs12Kdf(SHA1, pw, salt, 1, iterations, bits / 8);
        const iv = pkcs12Kdf(SHA1, pw, salt, 2, iterations, 8);
        return rc2CbcDecrypt(key, bits, iv, data);
      }
      default:
        throw new Pkcs12Error(`unsupported PKCS#12 encryption algorithm ${algOid}`, 'format');
    }
  } catch (err) {
    if (err instanceof Pkcs12Error || err instanceof Asn1Error) throw err;
    // Bad padding after decryption is what a wrong password looks like.
    throw new Pkcs12Error('the password does not decrypt the file', 'password');
  }
}

/** Checks the file's integrity MAC; a mismatch means a wrong password (or a damaged file). */
function checkMac(macData: Asn1, content: Buffer, password: string): void {
  const digestInfo = expect(macData.children[0], TAG.SEQUENCE, 'MAC digest info');
  const algOid = readOid(expect(digestInfo.children[0], TAG.SEQUENCE, 'MAC algorithm').children[0], 'MAC algorithm');
  const expected = expect(digestInfo.children[1], TAG.OCTET_STRING, 'MAC value').value;
  const salt = expect(macData.children[1], TAG.OCTET_STRING, 'MAC salt').value;
  const iterations = macData.children[2] ? readInt(macData.children[2], 'MAC iterations') : 1;
  const hash = HASH_BY_OID[algOid];
  if (!hash) throw new Pkcs12Error(`unsupported PKCS#12 MAC algorithm ${algOid}`, 'format');
  const key = pkcs12Kdf(hash, bmpPassword(password), salt, 3, iterations, hash.size);
  const actual = createHmac(hash.name, key).update(content).digest();
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new Pkcs12Error('the password does not open the file (integrity check failed)', 'password');
  }
}

function safeBags(safeContents: Buffer, password: string, keys: KeyObject[], certs: X509Certificate[]): void {
  const bags = expect(decode(safeContents), TAG.SEQUENCE, 'SafeContents');
  for (const bag of bags.children) {
    const bagId = readOid(bag.children[0], 'bag id');
    const value = expectContext(bag.children[1], 0, 'bag value').children[0];
    if (bagId === OID.keyBag) {
      keys.push(createPrivateKey({ key: expect(value, TAG.SEQUENCE, 'key bag').raw, format: 'der', type: 'pkcs8' }));
    } else if (bagId === OID.shroudedKeyBag) {
      const epki = expect(value, TAG.SEQUENCE, 'shrouded key bag');
      const alg = expect(epki.children[0], TAG.SEQUENCE, 'key encryption algorithm');
      const plain = decryptWith(alg, password, expect(epki.children[1], TAG.OCTET_STRING, 'encrypted key').value);
      try {
        keys.push(createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' }));
      } catch {
        throw new Pkcs12Error('the password does not decrypt the private key', 'password');
      }
    } else if (bagId === OID.certBag) {
      const cb = expect(value, TAG.SEQUENCE, 'certificate bag');
      if (readOid(cb.children[0], 'certificate type') !== OID.x509Certificate) continue;
      const der = expect(expectContext(cb.children[1], 0, 'certificate value').children[0], TAG.OCTET_STRING, 'certificate').value;
      certs.push(new X509Certificate(der));
    }
    // CRL and secret bags carry nothing pay needs.
  }
}

/**
 * Opens a PKCS#12 file with `password` and returns its private key and matching certificate.
 * Throws {@link Pkcs12Error}: kind `password` for a wrong password, `format` otherwise.
 */
export function readPkcs12(file: Buffer, password: string): Pkcs12Contents {
  try {
    const pfx = expect(decode(file), TAG.SEQUENCE, 'PFX');
    if (readInt(pfx.children[0], 'PFX version') !== 3) throw new Pkcs12Error('not a PKCS#12 version 3 file', 'format');
    const authSafe = expect(pfx.children[1], TAG.SEQUENCE, 'authSafe');
    if (readOid(authSafe.children[0], 'authSafe type') !== OID.data) {
      throw new Pkcs12Error('public-key integrity mode PKCS#12 files are not supported (export with a password)', 'format');
    }
    const content = expect(expectContext(authSafe.children[1], 0, 'authSafe content').children[0], TAG.OCTET_STRING, 'authSafe content').value;
    if (pfx.children[2]) checkMac(expect(pfx.children[2], TAG.SEQUENCE, 'MAC data'), content, password);
    const keys: KeyObject[] = [];
    const certs: X509Certificate[] = [];
    for (const ci of expect(decode(content), TAG.SEQUENCE, 'AuthenticatedSafe').children) {
      const type = readOid(ci.children[0], 'content type');
      const inner = expectContext(ci.children[1], 0, 'content').children[0];
      if (type === OID.data) {
        safeBags(expect(inner, TAG.OCTET_STRING, 'safe contents').value, password, keys, certs);
      } else if (type === OID.encryptedData) {
        const ed = expect(inner, TAG.SEQUENCE, 'EncryptedData');
        const eci = expect(ed.children[1], TAG.SEQUENCE, 'EncryptedContentInfo');
        const alg = expect(eci.children[1], TAG.SEQUENCE, 'content encryption algorithm');
        const enc = eci.children[2];
        if (!enc || enc.cls !== 2 || enc.tag !== 0) throw new Pkcs12Error('encrypted safe contents are missing', 'format');
        safeBags(decryptWith(alg, password, enc.value), password, keys, certs);
      } else {
        throw new Pkcs12Error('public-key privacy mode PKCS#12 files are not supported', 'format');
      }
    }
    if (keys.length === 0) throw new Pkcs12Error('the file holds no private key', 'format');
    if (certs.length === 0) throw new Pkcs12Error('the file holds no certificate', 'format');
    const key = keys[0];
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    const certificate = certs.find((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
    if (!certificate) throw new Pkcs12Error('no certificate in the file matches its private key', 'format');
    return { privateKey: key, certificate, certificates: certs };
  } catch (err) {
    if (err instanceof Pkcs12Error) throw err;
    if (err instanceof Asn1Error) throw new Pkcs12Error(`not a PKCS#12 file (${err.message})`, 'format');
    throw new Pkcs12Error(`not a readable PKCS#12 file (${(err as Error).message})`, 'format');
  }
}
