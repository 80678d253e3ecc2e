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
 * Makes root, middle and a signing certificate (CN `041@...@<company>@...`) with openssl. The CA
 * certificates are valid from 60 days ago for ten years; the signing certificate from
 * `startDaysAgo` days ago to `validDays` days from now (negative: already expired).
 */
export function opensslChain(dir: string, options: { signCn?: string; startDaysAgo?: number; validDays?: number } = {}): OpensslChain {
  const cwd = dir;
  const caExt = ext(dir, 'ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const leafExt = ext(dir, 'leaf.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
  const fmt = (days: number) => `${new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
  // `openssl ca` is the CLI path that takes explicit start and end dates.
  const conf = (issuer: string) =>
    ext(
      dir,
      `ca-${issuer}.cnf`,
      `[ca]\ndefault_ca=m\n[m]\ndir=.\ndatabase=index-${issuer}.txt\nserial=serial-${issuer}\nnew_certs_dir=.\ncertificate=${issuer}.pem\nprivate_key=${issuer}.key\ndefault_md=sha256\npolicy=p\nunique_subject=no\nutf8=yes\nstring_mask=utf8only\n[p]\ncountryName=optional\norganizationName=optional\norganizationalUnitName=optional\ncommonName=supplied\n`,
    );
  for (const issuer of ['root', 'middle']) {
    writeFileSync(join(dir, `index-${issuer}.txt`), '');
    writeFileSync(join(dir, `serial-${issuer}`), issuer === 'root' ? '01A1\n' : '1000A1B2C3D4\n');
  }
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.csr', '-subj', '/C=CN/O=Test Only CA/CN=TEST ROOT CA'], { cwd });
  openssl(['ca', '-batch', '-selfsign', '-config', conf('root'), '-keyfile', 'root.key', '-in', 'root.csr', '-out', 'root.pem', '-notext', '-startdate', fmt(-60), '-enddate', fmt(3650), '-extfile', caExt], { cwd });
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'middle.key', '-out', 'middle.csr', '-subj', '/C=CN/O=Test Only CA/CN=TEST OCA1'], { cwd });
  openssl(['ca', '-batch', '-config', conf('root'), '-in', 'middle.csr', '-out', 'middle.pem', '-notext', '-startdate', fmt(-60), '-enddate', fmt(3600), '-extfile', caExt], { cwd });
  const cn = options.signCn ?? '041@8310000000083040@中国银联股份有限公司@00016495';
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sign.key', '-out', 'sign.csr', '-utf8', '-subj', `/C=CN/O=Test Only/OU=Enterprises/CN=${cn}`], { cwd });
  openssl(['ca', '-batch', '-config', conf('middle'), '-in', 'sign.csr', '-out', 'sign.pem', '-notext', '-startdate', fmt(-(options.startDaysAgo ?? 1)), '-enddate', fmt(options.validDays ?? 365), '-extfile', leafExt, '-utf8'], { cwd });
  const pem = (n: string) => readFileSync(join(dir, n), 'utf8').replace(/^[\s\S]*?(-----BEGIN CERTIFICATE-----)/, '$1');
  return { dir, rootPem: pem('root.pem'), middlePem: pem('middle.pem'), signPem: pem('sign.pem'), signKeyPem: readFileSync(join(dir, 'sign.key'), 'utf8') };
}

/** A merchant key + self-signed certificate exported by openssl as PKCS#12 in the given flavour. */
export function opensslPkcs12(dir: string, flavour: 'default' | 'legacy' | '3des', password: string, tag: string = flavour): { p12: Buffer; keyPem: string; certPem: string; serialDecimal: string } {
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
