/**
 * PayPal webhook signatures, verified offline (verification.md, "PayPal"):
 *
 *   message = transmissionId + "|" + transmissionTime + "|" + webhookId + "|" + crc32(rawBody)
 *
 * with the CRC-32 (IEEE) of the raw body as an unsigned decimal, signed SHA256withRSA by the key
 * of the certificate PayPal names in `PAYPAL-CERT-URL` (given to pay as a file, since offline we
 * fetch nothing). Before trusting that certificate: its validity window at the verification
 * moment, its CN (`messageverificationcerts*.paypal.com`), and, when a CA bundle is configured,
 * its chain. Pure: certificates, keys and the moment are passed in.
 */
import { createSign, X509Certificate, type KeyObject } from 'node:crypto';
import { verifyRsa, verifyRsaAsync } from '../../src/channel/rsa.js';
import { crc32 } from 'node:zlib';

/** Header names (lowercase, as RawRequest holds them). */
export const HEADERS = {
  id: 'paypal-transmission-id',
  time: 'paypal-transmission-time',
  sig: 'paypal-transmission-sig',
  certUrl: 'paypal-cert-url',
  algo: 'paypal-auth-algo',
} as const;

/** The only algorithm PayPal signs webhooks with. */
export const AUTH_ALGO = 'SHA256withRSA';

/** CN rule for PayPal's message-verification certificates (sandbox and live). */
export const CN_RULE = /^messageverificationcerts(\.[a-z0-9-]+)*\.paypal\.com$/i;

/** CRC-32 (IEEE 802.3) of the raw body, unsigned. */
export function bodyCrc32(body: Buffer): number {
  return crc32(body) >>> 0;
}

/** The signed message. */
export function transmissionMessage(transmissionId: string, transmissionTime: string, webhookId: string, body: Buffer): string {
  return `${transmissionId}|${transmissionTime}|${webhookId}|${bodyCrc32(body)}`;
}

/** Signs a message as PayPal does (base64 SHA256withRSA). The simulator and tests use it. */
export function signTransmission(privateKey: KeyObject | string, message: string): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

/**
 * Verifies a base64 SHA256withRSA signature with a certificate's public key (or the key itself:
 * `cert.publicKey` builds a new KeyObject on every read, so callers that verify many messages
 * pass the key they took once).
 */
export function verifyTransmission(cert: X509Certificate | KeyObject, message: string, signatureB64: string): boolean {
  return verifyRsa('sha256', Buffer.from(message, 'utf8'), cert instanceof X509Certificate ? cert.publicKey : cert, signatureB64.trim());
}

/** {@link verifyTransmission} for callbacks: the RSA check may run in another thread (src/channel/rsa.ts). */
export function verifyTransmissionAsync(key: KeyObject, message: string, signatureB64: string): Promise<boolean> {
  return verifyRsaAsync('sha256', Buffer.from(message, 'utf8'), key, signatureB64.trim());
}

/** The CN of a certificate's subject. */
export function commonName(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) {
    const m = /^CN=(.*)$/.exec(line.trim());
    if (m) return m[1];
  }
  return undefined;
}

/** Outcome of {@link checkCertificate}. */
export type CertCheck = { ok: true } | { ok: false; message: string };

function validAt(cert: X509Certificate, atMs: number, what: string): CertCheck {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (atMs < from) return { ok: false, message: `${what} is not valid before ${new Date(from).toISOString()} (verification time ${new Date(atMs).toISOString()})` };
  if (atMs > to) return { ok: false, message: `${what} expired on ${new Date(to).toISOString()} (verification time ${new Date(atMs).toISOString()}); verify an old file with --at` };
  return { ok: true };
}

/**
 * Decides whether to trust the signing certificate at `atMs`: validity window, the CN rule, and
 * the chain up to a certificate of `ca` when a CA bundle is given (every certificate on the way
 * must be valid too). `visited` collects the certificates whose validity was checked: only their
 * windows depend on the moment, so an `ok` answer holds for any moment inside all of them.
 */
export function checkCertificate(cert: X509Certificate, atMs: number, ca: X509Certificate[] = [], visited?: X509Certificate[]): CertCheck {
  visited?.push(cert);
  const valid = validAt(cert, atMs, 'the signing certificate');
  if (!valid.ok) return valid;
  const cn = commonName(cert);
  if (!cn || !CN_RULE.test(cn)) {
    return { ok: false, message: `the signing certificate's CN "${cn ?? ''}" is not a PayPal message-verification certificate (messageverificationcerts*.paypal.com)` };
  }
  if (ca.length === 0) return { ok: true };
  // Walk issuer links through the bundle until a bundled certificate vouches for the last one.
  let current = cert;
  for (let depth = 0; depth < 8; depth++) {
    const issuer = ca.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (!issuer) return { ok: false, message: `the signing certificate does not chain to the configured CA (no issuer for "${current.issuer.split('\n').join(', ')}")` };
    visited?.push(issuer);
    const v = validAt(issuer, atMs, `CA certificate "${commonName(issuer) ?? issuer.subject}"`);
    if (!v.ok) return v;
    if (issuer.checkIssued(issuer) || issuer === current) return { ok: true };
    if (issuer.ca === false) return { ok: false, message: `"${commonName(issuer)}" is not a CA certificate` };
    current = issuer;
    // A bundled intermediate is trusted as configured; its own issuer, if bundled, is checked too.
    if (!ca.some((c) => c !== current && current.checkIssued(c))) return { ok: true };
  }
  return { ok: false, message: 'the certificate chain is too long' };
}
