/**
 * Test-only key material, made fresh by each test run with the `openssl` CLI (an independent
 * implementation, so our PKCS#12 reader and certificate checks are not only tested against our own
 * writer). Nothing here is a real UnionPay key.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Runs openssl, returning stdout; throws with stderr on failure. */
export function openssl(args: string[], options: { cwd: string; input?: string | Buffer } = { cwd: '.' }): Buffer {
  return execFileSync('openssl', args, { cwd: options.cwd, input: options.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A 3-level chain made by openssl: root CA -> middle CA -> UnionPay-style signing certificate. */
export interface OpensslChain {
  dir: string;
  rootPem: string;
  middlePem: string;
  signPem: string;
  signKeyPem: string;
}

function ext(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

/**
 * Makes root, middle and a signing certificate (CN `041@...@<company>@...`) with openssl. The
 * signing certificate is valid from `days` days ago... `validDays` from now (negative: expired).
 */
export function opensslChain(dir: string, options: { signCn?: string; startDaysAgo?: number; validDays?: number } = {}): OpensslChain {
  const cwd = dir;
  const caExt = ext(dir, 'ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const leafExt = ext(dir, 'leaf.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650', '-subj', '/C=CN/O=Test Only CA/CN=TEST ROOT CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { cwd });
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'middle.key', '-out', 'middle.csr', '-subj', '/C=CN/O=Test Only CA/CN=TEST OCA1'], { cwd });
  openssl(['x509', '-req', '-in', 'middle.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'middle.pem', '-days', '3000', '-extfile', caExt], { cwd });
  const cn = options.signCn ?? '041@8310000000083040@中国银联股份有限公司@00016495';
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sign.key', '-out', 'sign.csr', '-utf8', '-subj', `/C=CN/O=Test Only/OU=Enterprises/CN=${cn}`], { cwd });
  const start = options.startDaysAgo ?? 1;
  const valid = options.validDays ?? 365;
  const startDate = new Date(Date.now() - start * 86_400_000);
  const endDate = new Date(Date.now() + valid * 86_400_000);
  const fmt = (d: Date) => `${d.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
  // `openssl ca` is the only CLI path that takes explicit start/end dates.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000A1B2C3D4\n');
  const conf = ext(
    dir,
    'ca.cnf',
    `[ca]\ndefault_ca=m\n[m]\ndir=.\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\ncertificate=middle.pem\nprivate_key=middle.key\ndefault_md=sha256\npolicy=p\nunique_subject=no\nutf8=yes\nstring_mask=utf8only\n[p]\ncountryName=optional\norganizationName=optional\norganizationalUnitName=optional\ncommonName=supplied\n`,
  );
  openssl(['ca', '-batch', '-config', conf, '-in', 'sign.csr', '-out', 'sign.pem', '-notext', '-startdate', fmt(startDate), '-enddate', fmt(endDate), '-extfile', leafExt, '-utf8'], { cwd });
  return {
    dir,
    rootPem: readFileSync(join(dir, 'root.pem'), 'utf8'),
    middlePem: readFileSync(join(dir, 'middle.pem'), 'utf8'),
    signPem: readFileSync(join(dir, 'sign.pem'), 'utf8').replace(/^[\s\S]*?(-----BEGIN CERTIFICATE-----)/, '$1'),
    signKeyPem: readFileSync(join(dir, 'sign.key'), 'utf8'),
  };
}

/** A merchant key + self-signed certificate exported by openssl as PKCS#12 in the given flavour. */
export function opensslPkcs12(dir: string, flavour: 'default' | 'legacy' | '3des', password: string, tag = flavour): { p12: Buffer; keyPem: string; certPem: string; serialDecimal: string } {
  const cwd = dir;
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `m-${tag}.key`, '-out', `m-${tag}.pem`, '-days', '30', '-subj', '/C=CN/O=Test Only Merchant/CN=777290058110097@test-only'], { cwd });
  const extra = flavour === 'legacy' ? ['-legacy'] : flavour === '3des' ? ['-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'] : [];
  openssl(['pkcs12', '-export', ...extra, '-inkey', `m-${tag}.key`, '-in', `m-${tag}.pem`, '-out', `m-${tag}.p12`, '-passout', `pass:${password}`], { cwd });
  const serialHex = openssl(['x509', '-in', `m-${tag}.pem`, '-noout', '-serial'], { cwd }).toString().trim().replace(/^serial=/, '');
  return {
    p12: readFileSync(join(dir, `m-${tag}.p12`)),
    keyPem: readFileSync(join(dir, `m-${tag}.key`), 'utf8'),
    certPem: readFileSync(join(dir, `m-${tag}.pem`), 'utf8'),
    serialDecimal: BigInt(`0x${serialHex}`).toString(10),
  };
}
