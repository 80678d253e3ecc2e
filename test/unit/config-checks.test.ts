/**
 * Shared config checks (src/channel/config-checks.ts: URLs, time zones) and key-material readers
 * (src/channel/pem.ts) that the channels' validateConfig and verifiers use.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkBaseUrl, checkTimeZone, checkUrl } from '../../src/channel/config-checks.js';
import { bareBase64, readCertificates, readPrivateKey, readPublicKey } from '../../src/channel/pem.js';
import { buildCertificate } from '../../src/channel/x509.js';
import { isPayError } from '../../src/core/errors.js';

function configFailure(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    if (isPayError(err)) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('checkUrl / checkBaseUrl', () => {
  it('normalises base URLs without trailing slashes, and keeps callback URLs as given', () => {
    expect(checkBaseUrl('https://api.stripe.com', 'channels.stripe.baseUrl')).toBe('https://api.stripe.com');
    expect(checkBaseUrl(' http://127.0.0.1:4010/// ', 'x')).toBe('http://127.0.0.1:4010');
    expect(checkBaseUrl('HTTPS://Gateway.95516.COM:443/', 'x')).toBe('https://gateway.95516.com');
    expect(checkUrl('https://shop.example/notify/', 'x', 'as-given')).toBe('https://shop.example/notify/');
    expect(checkUrl('https://openapi.alipay.com/gateway.do', 'x', 'as-given')).toBe('https://openapi.alipay.com/gateway.do');
  });

  it('refuses non-URLs, other schemes and non-text as CONFIG_ERROR naming the field, never the value', () => {
    for (const [value, message] of [
      ['not a url', 'channels.paypal.baseUrl is not a URL'],
      ['ftp://files.example', 'channels.paypal.baseUrl must be an http(s) URL'],
      ['', 'channels.paypal.baseUrl must be an absolute http(s) URL'],
      [42, 'channels.paypal.baseUrl must be an absolute http(s) URL'],
    ] as const) {
      const err = configFailure(() => checkBaseUrl(value, 'channels.paypal.baseUrl'));
      expect(err.code).toBe('CONFIG_ERROR');
      expect(err.message).toBe(message);
    }
    expect(configFailure(() => checkUrl('javascript:alert(1)', 'w', 'as-given')).message).not.toContain('alert');
  });
});

describe('checkTimeZone', () => {
  it('accepts IANA zones and refuses anything else', () => {
    expect(checkTimeZone(' America/New_York ', 'z')).toBe('America/New_York');
    expect(checkTimeZone('UTC', 'z')).toBe('UTC');
    expect(configFailure(() => checkTimeZone('Mars/Olympus', 'channels.stripe.timeZone')).message).toBe('channels.stripe.timeZone is not a known IANA time zone');
    expect(configFailure(() => checkTimeZone(undefined, 'channels.stripe.timeZone')).message).toMatch(/must be an IANA time zone/);
  });
});

describe('key material', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spkiDer = rsa.publicKey.export({ type: 'spki', format: 'der' });
  const same = (k: { export: (o: { type: 'spki'; format: 'der' }) => Buffer }) => k.export({ type: 'spki', format: 'der' }).equals(spkiDer);

  it('reads private keys as PEM (PKCS#8, PKCS#1) and bare base64 DER (PKCS#8, PKCS#1, with line breaks)', () => {
    const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const bare8 = rsa.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const bare1 = rsa.privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64').replace(/(.{64})/g, '$1\n');
    for (const text of [pkcs8, pkcs1, bare8, bare1, `\n  ${pkcs8}  \n`]) {
      const key = readPrivateKey(text);
      expect(key.type).toBe('private');
      expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    }
    expect(() => readPrivateKey('not a key!')).toThrow('neither PEM nor base64');
    expect(() => readPrivateKey('QUJD')).toThrow();
  });

  it('reads public keys as PEM (SPKI, PKCS#1), a certificate, or bare base64 DER', () => {
    const pem = buildCertificate({ subject: [['CN', 'keys, test only']], serial: 5n, notBefore: Date.now() - 1000, notAfter: Date.now() + 86_400_000, publicKey: rsa.publicKey, signingKey: rsa.privateKey });
    for (const text of [
      rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string,
      spkiDer.toString('base64'),
      rsa.publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
      pem,
    ]) {
      expect(same(readPublicKey(text))).toBe(true);
    }
    expect(() => readPublicKey('%%%')).toThrow('neither PEM nor base64');
  });

  it('reads certificates from a PEM bundle, DER bytes or bare base64, and says when there is none', () => {
    const now = Date.now();
    const make = (cn: string) => buildCertificate({ subject: [['CN', cn]], serial: 7n, notBefore: now - 1000, notAfter: now + 86_400_000, publicKey: rsa.publicKey, signingKey: rsa.privateKey });
    const a = make('A test only');
    const b = make('B test only');
    expect(readCertificates(`junk before\n${a}\n${b}`).map((c) => c.subject)).toEqual(['CN=A test only', 'CN=B test only']);
    const der = new X509Certificate(a).raw;
    expect(readCertificates(der)[0].raw.equals(der)).toBe(true);
    expect(readCertificates(der.toString('base64').replace(/(.{76})/g, '$1\r\n'))[0].raw.equals(der)).toBe(true);
    expect(readCertificates(Buffer.from(a))[0].subject).toBe('CN=A test only');
    expect(() => readCertificates('c2hvcnQ=')).toThrow('no certificate found (expected PEM or base64 DER)');
    expect(() => readCertificates('')).toThrow(/no certificate found/);
  });

  it('decodes bare base64 only when it is base64 of the length asked', () => {
    expect(bareBase64('QUJD\nREVG')?.toString()).toBe('ABCDEF');
    expect(bareBase64('QUJD', 5)).toBeUndefined();
    expect(bareBase64('QU=JD')).toBeUndefined();
    expect(bareBase64('')).toBeUndefined();
  });
});
