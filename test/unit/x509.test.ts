/**
 * The shared test-only certificate builder (src/channel/x509.ts, node-forge encoding and
 * node:crypto signing) and the tests' DER helpers (test/helpers/der.ts), checked against independent readers: the `openssl` CLI and node:crypto's
 * X509Certificate. The WeChat Pay, UnionPay and PayPal simulators mint their certificates here.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, integer, oid, oidToString, readBigInt, seq, set, time, TAG, utf8 } from '../helpers/der.js';
import { buildCertificate, randomSerial, type DistinguishedName } from '../../src/channel/x509.js';
import { tempDir } from '../helpers/cli.js';

const tmp = tempDir('pay-x509-');
afterAll(() => tmp.cleanup());
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
// One key pair per role, shared by the tests: RSA generation is the slow part.
const rootKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const leafKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

let n = 0;
function saved(pem: string): string {
  const path = join(tmp.dir, `${n++}.pem`);
  writeFileSync(path, pem);
  return path;
}
const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: tmp.dir, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');

describe('buildCertificate', () => {
  it('mints a self-signed certificate with the serial, validity and UTF-8 names asked for (openssl reads it)', () => {
    const subject: DistinguishedName = [['C', 'CN'], ['ST', 'Guangdong'], ['L', '深圳'], ['O', '财付通支付科技有限公司'], ['OU', 'test only'], ['CN', 'Tenpay sandbox (test only)']];
    const pem = buildCertificate({ subject, serial: 0xf1d2e3a4b5c6d7e8f9001122334455667788aabbn, notBefore: NOW - 1000, notAfter: Date.UTC(2060, 0, 1), publicKey: leafKeys.publicKey, signingKey: leafKeys.privateKey });
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
    const path = saved(pem);
    const text = openssl(['x509', '-in', path, '-noout', '-serial', '-dates', '-subject', '-issuer', '-nameopt', 'utf8,sep_comma_plus_space']);
    expect(text).toContain('serial=F1D2E3A4B5C6D7E8F9001122334455667788AABB');
    expect(text).toContain('notBefore=Nov 23 11:59:59 2026 GMT');
    expect(text).toContain('notAfter=Jan  1 00:00:00 2060 GMT'); // GeneralizedTime from 2050
    expect(text).toContain('subject=C=CN, ST=Guangdong, L=深圳, O=财付通支付科技有限公司, OU=test only, CN=Tenpay sandbox (test only)');
    expect(text).toContain('issuer=C=CN, ST=Guangdong'); // the issuer defaults to the subject
    expect(openssl(['verify', '-attime', String(NOW / 1000), '-CAfile', path, path])).toContain('OK');
    const cert = new X509Certificate(pem);
    expect(cert.serialNumber.replace(/^00/, '')).toBe('F1D2E3A4B5C6D7E8F9001122334455667788AABB');
    expect(cert.verify(leafKeys.publicKey)).toBe(true);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(leafKeys.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(Date.parse(cert.validTo)).toBe(Date.UTC(2060, 0, 1));
  });

  it('issues a CA and a leaf under it: a chain openssl verifies, with the right extensions', () => {
    const caDn: DistinguishedName = [['C', 'US'], ['O', 'pay tests (test only)'], ['CN', 'TEST ROOT CA']];
    const caPem = buildCertificate({ subject: caDn, serial: randomSerial(), notBefore: NOW - DAY, notAfter: NOW + 3650 * DAY, publicKey: rootKeys.publicKey, signingKey: rootKeys.privateKey, ca: true });
    const leafPem = buildCertificate({ subject: [['CN', 'leaf, test only']], issuer: caDn, serial: 2n, notBefore: NOW - DAY, notAfter: NOW + 30 * DAY, publicKey: leafKeys.publicKey, signingKey: rootKeys.privateKey });
    const caPath = saved(caPem);
    const leafPath = saved(leafPem);
    expect(openssl(['verify', '-attime', String(NOW / 1000), '-CAfile', caPath, leafPath])).toContain(': OK');
    const caText = openssl(['x509', '-in', caPath, '-noout', '-text']);
    expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(caText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(caText).toContain('sha256WithRSAEncryption');
    const leafText = openssl(['x509', '-in', leafPath, '-noout', '-text']);
    expect(leafText).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(leafText).toMatch(/Key Usage: critical\s+Digital Signature, Non Repudiation/);
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(leafPem);
    expect([ca.ca, leaf.ca]).toEqual([true, false]);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(rootKeys.publicKey)).toBe(true);
    expect(leaf.verify(leafKeys.publicKey)).toBe(false);
    // Not yet valid, and expired, as openssl sees it.
    expect(() => openssl(['verify', '-attime', String((NOW - 2 * DAY) / 1000), '-CAfile', caPath, leafPath])).toThrow(/not yet valid/);
    expect(() => openssl(['verify', '-attime', String((NOW + 31 * DAY) / 1000), '-CAfile', caPath, leafPath])).toThrow(/expired/);
  });

  it('signs with SHA-1 when asked (UnionPay 5.0.0 certificates)', () => {
    const pem = buildCertificate({ subject: [['CN', 'sha1, test only']], serial: 9n, notBefore: NOW - DAY, notAfter: NOW + DAY, publicKey: leafKeys.publicKey, signingKey: leafKeys.privateKey, hash: 'sha1' });
    expect(openssl(['x509', '-in', saved(pem), '-noout', '-text'])).toContain('sha1WithRSAEncryption');
    expect(new X509Certificate(pem).verify(leafKeys.publicKey)).toBe(true);
  });

  it('refuses a name attribute it cannot encode', () => {
    const dn = [['EMAIL', 'x@example.com']] as unknown as DistinguishedName;
    expect(() => buildCertificate({ subject: dn, serial: 1n, notBefore: NOW, notAfter: NOW + DAY, publicKey: leafKeys.publicKey, signingKey: leafKeys.privateKey })).toThrow(/unsupported name attribute EMAIL/);
  });

  it('draws random serials that are positive, about 64 bits and distinct', () => {
    const serials = Array.from({ length: 50 }, randomSerial);
    for (const s of serials) {
      expect(s >= 1n << 62n).toBe(true);
      expect(s < 1n << 64n).toBe(true);
    }
    expect(new Set(serials).size).toBe(50);
  });
});

describe('DER helpers', () => {
  it('encodes INTEGERs minimally, positive (a leading zero byte before a high bit)', () => {
    expect(integer(0).toString('hex')).toBe('020100');
    expect(integer(127).toString('hex')).toBe('02017f');
    expect(integer(128).toString('hex')).toBe('02020080');
    expect(integer(0x1234n).toString('hex')).toBe('02021234');
    expect(readBigInt(decode(integer(0xf1d2e3a4b5c6d7e8f9n)), 'n')).toBe(0xf1d2e3a4b5c6d7e8f9n);
  });

  it('encodes OIDs and long lengths the way they decode', () => {
    expect(oid('1.2.840.113549.1.1.11').toString('hex')).toBe('06092a864886f70d01010b');
    expect(oidToString(decode(oid('2.5.29.19')).value)).toBe('2.5.29.19');
    const long = utf8('x'.repeat(300));
    expect(long.subarray(0, 4).toString('hex')).toBe('0c82012c');
    const node = decode(seq(long, integer(5)));
    expect(node.tag).toBe(TAG.SEQUENCE);
    expect(node.children.map((c) => c.tag)).toEqual([TAG.UTF8_STRING, TAG.INTEGER]);
    expect(node.children[0].value.toString()).toBe('x'.repeat(300));
  });

  it('writes UTCTime for 1950-2049 and GeneralizedTime outside, and sorts SET OF', () => {
    expect(time(Date.UTC(2026, 10, 23, 5, 6, 7)).toString('latin1').slice(2)).toBe('261123050607Z');
    expect(time(Date.UTC(2050, 0, 1)).toString('latin1').slice(2)).toBe('20500101000000Z');
    expect(time(Date.UTC(1949, 11, 31)).toString('latin1').slice(2)).toBe('19491231000000Z');
    expect(time(Date.UTC(2026, 0, 1))[0]).toBe(0x17);
    expect(time(Date.UTC(2050, 0, 1))[0]).toBe(0x18);
    expect(set(integer(2), integer(1)).equals(set(integer(1), integer(2)))).toBe(true);
  });
});
