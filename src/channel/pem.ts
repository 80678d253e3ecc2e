/**
 * Reading key material as merchants are handed it: PEM, or the bare base64 of the DER that
 * providers' consoles and key tools print (Alipay's key tool, WeChat Pay's public key, UnionPay's
 * .cer files). Failures are plain Errors whose messages never quote the input; callers name the
 * config field in their own CONFIG_ERROR.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isBase64 } from './rsa.js';

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----/;
const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The DER bytes of bare base64 text (whitespace ignored), or undefined when it is not base64. */
export function bareBase64(text: string, minLength = 1): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < minLength || !isBase64(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

/** A private key from PEM (PKCS#8, PKCS#1...) or bare base64 of PKCS#8 or PKCS#1 DER. */
export function readPrivateKey(text: string): KeyObject {
  const t = text.trim();
  if (PEM_BLOCK.test(t)) return createPrivateKey(t);
  const der = bareBase64(t);
  if (!der) throw new Error('neither PEM nor base64');
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  }
}

/**
 * A public key from PEM (SPKI or PKCS#1), a PEM certificate (its key), or bare base64 of SPKI or
 * PKCS#1 DER.
 */
export function readPublicKey(text: string): KeyObject {
  const t = text.trim();
  if (t.includes('-----BEGIN CERTIFICATE-----')) return readCertificates(t)[0].publicKey;
  if (PEM_BLOCK.test(t)) return createPublicKey(t);
  const der = bareBase64(t);
  if (!der) throw new Error('neither PEM nor base64');
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
  }
}

/**
 * Certificates from PEM text (one, or a bundle), or one DER certificate given as bytes or as bare
 * base64 text. Throws when there is none.
 */
export function readCertificates(input: string | Buffer): X509Certificate[] {
  if (Buffer.isBuffer(input) && input[0] === 0x30) return [new X509Certificate(input)];
  const text = Buffer.isBuffer(input) ? input.toString('latin1') : input;
  const pems = text.match(CERTIFICATE_PEM);
  if (pems) return pems.map((p) => new X509Certificate(p));
  // A bare base64 certificate is never this short: shorter text is something else.
  const der = bareBase64(text, 101);
  if (der) return [new X509Certificate(der)];
  throw new Error('no certificate found (expected PEM or base64 DER)');
}
