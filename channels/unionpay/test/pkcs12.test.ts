import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forge } from '../../../src/channel/forge.js';
import { decode, integer, oid, oidToString, seq } from '../../../test/helpers/der.js';
import { tempDir } from '../../../test/helpers/cli.js';
import { buildPkcs12, generateMerchantCert, generateTestChain } from '../pki.js';
import { Pkcs12Error, readPkcs12 } from '../pkcs12.js';
import { certIdOf } from '../signature.js';
import { openssl, opensslPkcs12 } from './pki-helpers.js';

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('pay-unionpay-p12-');
});
afterAll(() => tmp.cleanup());

/**
 * RC2-CBC decryption by node-forge, the implementation that opens RC2-encrypted bags; the PKCS#7
 * padding is checked in full here (forge only checks the last byte).
 */
function rc2CbcDecrypt(key: Buffer, bits: number, iv: Buffer, data: Buffer): Buffer {
  const { rc2, util } = forge();
  const cipher = rc2.createDecryptionCipher(util.createBuffer(key.toString('binary')), bits);
  cipher.start(util.createBuffer(iv.toString('binary')));
  cipher.update(util.createBuffer(data.toString('binary')));
  cipher.finish(() => true);
  const plain = Buffer.from(cipher.output.getBytes(), 'binary');
  const pad = plain[plain.length - 1];
  if (!(pad >= 1 && pad <= 8) || !plain.subarray(plain.length - pad).every((b) => b === pad)) throw new Error('bad RC2 padding (wrong key)');
  return plain.subarray(0, plain.length - pad);
}

const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' }).toString('base64');

describe('RC2-CBC (RFC 2268, node-forge) against openssl legacy provider', () => {
  const plain = Buffer.from('UnionPay sign certificates still use RC2-40 for the certificate bag.');
  for (const [cipher, keyHex, bits] of [
    ['rc2-40-cbc', '0102030405', 40],
    ['rc2-cbc', '000102030405060708090a0b0c0d0e0f', 128],
    ['rc2-64-cbc', '0011223344556677', 64],
  ] as const) {
    it(`decrypts ${cipher}`, () => {
      const iv = '0a0b0c0d0e0f1011';
      const ct = openssl(['enc', `-${cipher}`, '-provider', 'legacy', '-provider', 'default', '-K', keyHex, '-iv', iv], { cwd: tmp.dir, input: plain });
      expect(rc2CbcDecrypt(Buffer.from(keyHex, 'hex'), bits, Buffer.from(iv, 'hex'), ct).equals(plain)).toBe(true);
    });
  }

  it('rejects a wrong key by its padding', () => {
    const ct = openssl(['enc', '-rc2-40-cbc', '-provider', 'legacy', '-provider', 'default', '-K', '0102030405', '-iv', '0000000000000000'], { cwd: tmp.dir, input: plain });
    expect(() => rc2CbcDecrypt(Buffer.from('0102030406', 'hex'), 40, Buffer.alloc(8), ct)).toThrow();
  });
});

describe('DER helpers', () => {
  it('round-trips OIDs and integers', () => {
    const d = decode(seq(oid('1.2.840.113549.1.12.10.1.2'), integer(65537n)));
    expect(oidToString(d.children[0].value)).toBe('1.2.840.113549.1.12.10.1.2');
    expect(d.children[1].value.toString('hex')).toBe('010001');
  });

  it('reads BER indefinite lengths and constructed strings', () => {
    // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "cd" } }
    const ber = Buffer.from('3080' + '2480' + '04026162' + '04026364' + '0000' + '0000', 'hex');
    const d = decode(ber);
    expect(d.children[0].value.toString()).toBe('abcd');
  });
});

describe('readPkcs12', () => {
  for (const flavour of ['default', 'legacy', '3des'] as const) {
    it(`opens an openssl ${flavour} PKCS#12 and finds key and certId`, () => {
      const m = opensslPkcs12(tmp.dir, flavour, 'test-only-pw');
      const r = readPkcs12(m.p12, 'test-only-pw');
      expect(spki(createPublicKey(r.privateKey))).toBe(spki(createPublicKey(createPrivateKey(m.keyPem))));
      expect(r.certificate.raw.equals(new X509Certificate(m.certPem).raw)).toBe(true);
      expect(certIdOf(r.certificate)).toBe(m.serialDecimal);
    });
  }

  it('says the password is wrong (MAC check) instead of returning garbage', () => {
    const m = opensslPkcs12(tmp.dir, 'legacy', 'right-password', 'wrongpw');
    let err: unknown;
    try {
      readPkcs12(m.p12, 'wrong-password');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Pkcs12Error);
    expect((err as Pkcs12Error).kind).toBe('password');
  });

  it('refuses a file that is not PKCS#12', () => {
    for (const bad of [Buffer.from('not a pfx'), Buffer.alloc(0), seq(integer(1))]) {
      let err: unknown;
      try {
        readPkcs12(bad, 'x');
      } catch (e) {
        err = e;
      }
      expect((err as Pkcs12Error).kind).toBe('format');
    }
  });

  it('refuses a truncated file', () => {
    const m = opensslPkcs12(tmp.dir, 'default', 'pw-test-only', 'trunc');
    expect(() => readPkcs12(m.p12.subarray(0, m.p12.length - 40), 'pw-test-only')).toThrow(Pkcs12Error);
  });
});

describe('buildPkcs12 and buildCertificate (sandbox PKI) against openssl', () => {
  it('writes a PKCS#12 that openssl opens with the same key and certificate', () => {
    const merchant = generateMerchantCert('777290058110097');
    const p12 = buildPkcs12(merchant.privateKey, [merchant.pem], 'sandbox-test-only');
    const path = join(tmp.dir, 'built.p12');
    writeFileSync(path, p12);
    const out = openssl(['pkcs12', '-in', path, '-passin', 'pass:sandbox-test-only', '-nodes'], { cwd: tmp.dir }).toString();
    const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(out)?.[0];
    const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
    expect(spki(createPublicKey(createPrivateKey(keyPem!)))).toBe(spki(merchant.publicKey));
    expect(new X509Certificate(certPem!).raw.equals(merchant.cert.raw)).toBe(true);
    // And our reader agrees.
    const r = readPkcs12(p12, 'sandbox-test-only');
    expect(certIdOf(r.certificate)).toBe(certIdOf(merchant.cert));
    expect(() => readPkcs12(p12, 'nope')).toThrow(/password/);
  });

  it('builds a chain openssl verifies, with a UnionPay-style CN', () => {
    const chain = generateTestChain();
    for (const [n, pem] of [['r.pem', chain.root.pem], ['m.pem', chain.middle.pem], ['s.pem', chain.sign.pem]]) writeFileSync(join(tmp.dir, n), pem);
    const out = openssl(['verify', '-CAfile', 'r.pem', '-untrusted', 'm.pem', 's.pem'], { cwd: tmp.dir }).toString();
    expect(out).toContain('s.pem: OK');
    const subject = openssl(['x509', '-in', 's.pem', '-noout', '-subject', '-nameopt', 'utf8,sep_multiline'], { cwd: tmp.dir }).toString('utf8');
    expect(subject).toContain('041@Z9999999999@中国银联股份有限公司@00000001');
    expect(chain.middle.cert.ca).toBe(true);
    expect(chain.sign.cert.ca).toBe(false);
    expect(readFileSync(join(tmp.dir, 'r.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});
