/**
 * Reads PKCS#12 (.pfx / .p12) files, the form in which UnionPay hands merchants their signing
 * certificate (`signCert` + `signCertPassword`). node:crypto cannot open PKCS#12, so node-forge
 * (loaded on first use) checks the integrity MAC and decrypts the bags: the legacy PKCS#12 schemes
 * (3DES, RC2-40, RC2-128; what CFCA and older OpenSSL write) and PBES2 (PBKDF2 with AES-CBC or
 * 3DES; what OpenSSL 3 writes by default). The key and certificates it finds are handed to
 * node:crypto, which does all signing. Public-key integrity/privacy modes (rare, never used for
 * UnionPay certificates) are refused.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { forge } from '../../src/channel/forge.js';

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

/** forge's words for a password that does not open the file (MAC, or a bag that will not decrypt). */
const WRONG_PASSWORD = /MAC could not be verified|wrong password|Invalid password|decrypt/i;

/**
 * Opens a PKCS#12 file with `password` and returns its private key and matching certificate.
 * Throws {@link Pkcs12Error}: kind `password` for a wrong password, `format` otherwise.
 */
export function readPkcs12(file: Buffer, password: string): Pkcs12Contents {
  const { asn1, pkcs12, pki, util } = forge();
  let p12: ReturnType<typeof pkcs12.pkcs12FromAsn1>;
  try {
    let parsed: ReturnType<typeof asn1.fromDer>;
    try {
      parsed = asn1.fromDer(util.createBuffer(file.toString('binary')));
    } catch (err) {
      throw new Pkcs12Error(`not a PKCS#12 file (${(err as Error).message})`, 'format');
    }
    p12 = pkcs12.pkcs12FromAsn1(parsed, false, password);
  } catch (err) {
    if (err instanceof Pkcs12Error) throw err;
    const message = (err as Error).message;
    if (WRONG_PASSWORD.test(message)) throw new Pkcs12Error('the password does not open the file (integrity check failed)', 'password');
    throw new Pkcs12Error(`not a readable PKCS#12 file (${message})`, 'format');
  }
  const keys: KeyObject[] = [];
  const certs: X509Certificate[] = [];
  for (const bag of p12.safeContents.flatMap((c) => c.safeBags)) {
    if (bag.type === pki.oids.pkcs8ShroudedKeyBag || bag.type === pki.oids.keyBag) {
      // forge holds an RSA key as its own object; any other kind as the PrivateKeyInfo.
      const info = bag.key ? pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(bag.key)) : bag.asn1;
      keys.push(createPrivateKey({ key: Buffer.from(asn1.toDer(info).getBytes(), 'binary'), format: 'der', type: 'pkcs8' }));
    } else if (bag.type === pki.oids.certBag) {
      const der = bag.cert ? asn1.toDer(pki.certificateToAsn1(bag.cert)) : asn1.toDer(bag.asn1);
      certs.push(new X509Certificate(Buffer.from(der.getBytes(), 'binary')));
    }
    // CRL and secret bags carry nothing pay needs.
  }
  if (keys.length === 0) throw new Pkcs12Error('the file holds no private key', 'format');
  if (certs.length === 0) throw new Pkcs12Error('the file holds no certificate', 'format');
  const key = keys[0];
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const certificate = certs.find((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
  if (!certificate) throw new Pkcs12Error('no certificate in the file matches its private key', 'format');
  return { privateKey: key, certificate, certificates: certs };
}
