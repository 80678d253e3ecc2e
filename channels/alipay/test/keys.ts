/**
 * Test-only key material for the Alipay tests, generated at run time: RSA key pairs, and (for
 * certificate mode) a small CA with an app certificate and an "Alipay" certificate issued by the
 * `openssl` command-line tool. Nothing here is a real key.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An RSA key pair with its PEM texts. */
export interface TestKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#1 PEM (what Alipay's key tool calls the "non-Java" format). */
  privatePem: string;
  /** PKCS#8 PEM. */
  privatePkcs8Pem: string;
  publicPem: string;
  /** Bare base64 SPKI, as Alipay's console shows public keys. */
  publicBase64: string;
}

/** A fresh 2048-bit RSA key pair. */
export function rsaKeyPair(): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    privatePkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    publicBase64: (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
  };
}

/** Certificate-mode material: the app's and Alipay's certificates under a root bundle. */
export interface TestCertSet {
  app: TestKeyPair;
  alipay: TestKeyPair;
  appCert: string;
  alipayPublicCert: string;
  /** Two RSA roots, as Alipay's bundle holds several. */
  alipayRootCert: string;
  /** Serial numbers (hex) of the app and Alipay certificates: random, so sets differ in SN. */
  appSerialHex: string;
  alipaySerialHex: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Issues test certificates with the openssl CLI: a root CA (plus a second unrelated root in the
 * bundle), the app certificate and the Alipay certificate signed by the root. Subjects carry a
 * comma-free Chinese organisation name, as Alipay's do.
 */
export function testCertSet(): TestCertSet {
  const dir = mkdtempSync(join(tmpdir(), 'pay-alipay-certs-'));
  try {
    const app = rsaKeyPair();
    const alipay = rsaKeyPair();
    writeFileSync(join(dir, 'app.key'), app.privatePkcs8Pem);
    writeFileSync(join(dir, 'alipay.key'), alipay.privatePkcs8Pem);
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/C=CN/O=Pay Test CA/OU=Certification Authority test/CN=Pay Test Root R1', '-utf8'], dir);
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca2.key', '-out', 'ca2.crt', '-days', '3650', '-subj', '/C=CN/O=Pay Test CA Two/CN=Pay Test Root R2'], dir);
    const issue = (name: string, subj: string, serial: string) => {
      openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subj, '-utf8'], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial, '-out', `${name}.crt`, '-days', '365', '-sha256'], dir);
    };
    // Random 128-bit serials (top bit clear): two sets from the same CA name differ in SN, as a
    // rotated certificate does.
    const serial = () => `2023${randomBytes(14).toString('hex').toUpperCase()}`;
    const appSerialHex = serial();
    const alipaySerialHex = serial();
    issue('app', '/C=CN/O=测试商户有限公司/OU=Alipay/CN=2021000000000001', `0x${appSerialHex}`);
    issue('alipay', '/C=CN/O=Ant Financial test/OU=Alipay/CN=支付宝(中国)网络技术有限公司-2088000000000001', `0x${alipaySerialHex}`);
    return {
      app,
      alipay,
      appCert: readFileSync(join(dir, 'app.crt'), 'utf8'),
      alipayPublicCert: readFileSync(join(dir, 'alipay.crt'), 'utf8'),
      alipayRootCert: readFileSync(join(dir, 'ca.crt'), 'utf8') + readFileSync(join(dir, 'ca2.crt'), 'utf8'),
      appSerialHex,
      alipaySerialHex,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
