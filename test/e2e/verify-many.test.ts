/**
 * `pay verify <dir>` over a directory large enough (RSA_THREAD_FROM files or more) that RSA
 * checks go to the worker thread and 64 callbacks are in flight at once: every RSA channel
 * (Alipay RSA2 and RSA, WeChat Pay v3, UnionPay 5.1.0 UTF-8 and GBK and 5.0.0, PayPal) mixed with
 * Stripe and the mock, each signed by its channel's own signer with keys made here, one config
 * holding every channel's keys, channels detected per file. A known set of files is tampered
 * (one body byte, or one signature character) and a few are garbage. Every row must carry exactly
 * its file's verdict and reason, in the directory's order, and every valid row the order number
 * and amount that were signed; the exit status follows (2 with garbage, 1 with invalid ones, 0).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRequest } from '../../src/channel/contract.js';
import { builtinChannelIds } from '../../src/channel/registry.js';
import { buildCertificate, type DistinguishedName } from '../../src/channel/x509.js';
import { RSA_THREAD_FROM } from '../../src/verify/files.js';
import { formatRawHttp } from '../../src/verify/request-file.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

const NEEDED = ['mock', 'alipay', 'wechatpay', 'unionpay', 'paypal', 'stripe'];
const registered = new Set(builtinChannelIds());
const missingChannels = NEEDED.filter((c) => !registered.has(c));
if (missingChannels.length) process.stderr.write(`NOTICE: verify-many: channels not registered, test skipped: ${missingChannels.join(', ')}\n`);

const NOW = Date.now();
const AT = new Date(NOW).toISOString();
const DAY = 86_400_000;
const CALLBACKS = 260;
const WX_SERIAL = 'PUB_KEY_ID_0114232134912410000000000000MANY';
const WX_V3_KEY = 'apiV3KeyManyFilesTestOnly0123456';
const STRIPE_SECRET = 'whsec_verify_many_test_only';
const MOCK_SECRET = 'whsec_mock_verify_many_test_only';
const PAYPAL_WEBHOOK = 'WEBHOOKMANYTEST01';
const UNIONPAY_500_CERT_ID = '6901234567';

type Kind = 'alipay-rsa2' | 'alipay-rsa' | 'wechatpay-v3' | 'unionpay-510' | 'unionpay-510-gbk' | 'unionpay-500' | 'paypal' | 'stripe' | 'mock';
const KINDS: Kind[] = ['alipay-rsa2', 'wechatpay-v3', 'unionpay-510', 'paypal', 'stripe', 'alipay-rsa', 'unionpay-500', 'mock', 'unionpay-510-gbk'];
const CHANNEL: Record<Kind, string> = {
  'alipay-rsa2': 'alipay',
  'alipay-rsa': 'alipay',
  'wechatpay-v3': 'wechatpay',
  'unionpay-510': 'unionpay',
  'unionpay-510-gbk': 'unionpay',
  'unionpay-500': 'unionpay',
  paypal: 'paypal',
  stripe: 'stripe',
  mock: 'mock',
};
/** The scheme each kind must be checked under (UnionPay 5.0.0: SHA-1 over the SHA-1 hex). */
const SCHEME: Record<Kind, string> = {
  'alipay-rsa2': 'alipay-RSA2',
  'alipay-rsa': 'alipay-RSA',
  'wechatpay-v3': 'wechatpay-v3',
  'unionpay-510': 'unionpay-5.1.0-01',
  'unionpay-510-gbk': 'unionpay-5.1.0-01',
  'unionpay-500': 'unionpay-5.0.0-01',
  paypal: 'paypal-sha256withrsa',
  stripe: 'stripe-v1',
  mock: 'mock-hmac-sha256',
};

/** What one file should give. */
interface Expected {
  name: string;
  verdict: 'valid' | 'invalid' | 'error';
  channel?: string;
  scheme?: string;
  reasonCode?: string;
  orderNo?: string;
  amountMinor?: number;
  tamper?: 'body' | 'signature';
}

let dir = '';
let cleanup = () => {};
let files = '';
let env: Record<string, string> = {};
const expected: Expected[] = [];

/** A decimal string of minor units with two decimals, by integer arithmetic. */
const decimal = (minor: number) => `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;

/** Changes the byte right after the first `marker` (a field's value starts there) to another digit. */
function changeAfter(body: Buffer, marker: string | RegExp): Buffer {
  const text = body.toString('latin1');
  const m = typeof marker === 'string' ? { index: text.indexOf(marker), length: marker.length } : (() => {
    const r = marker.exec(text);
    return r ? { index: r.index, length: r[0].length } : { index: -1, length: 0 };
  })();
  if (m.index < 0) throw new Error(`tamper: ${String(marker)} not in the body`);
  const at = m.index + m.length;
  const out = Buffer.from(body);
  out[at] = out[at] === 0x31 ? 0x32 : 0x31; // '1' -> '2', anything else -> '1'
  if (out.equals(body)) throw new Error('tamper changed nothing');
  return out;
}

/** One alphanumeric character of a signature changed (still base64 / hex, so the check really runs). */
function changeSignatureChar(value: string, from: number): string {
  let i = from;
  // In a form body the value is percent-encoded: skip the two characters after a '%'.
  while (!/[A-Za-z0-9]/.test(value[i]) || value[i - 1] === '%' || value[i - 2] === '%') i++;
  return value.slice(0, i) + (value[i] === 'a' ? 'b' : 'a') + value.slice(i + 1);
}

function tamperHeader(r: RawRequest, header: string): RawRequest {
  const v = r.headers[header];
  if (!v) throw new Error(`no ${header} header to tamper with`);
  return { ...r, headers: { ...r.headers, [header]: changeSignatureChar(v, v.length - 6) } };
}

function tamperFormSignature(r: RawRequest, field: string): RawRequest {
  const text = r.body.toString('latin1');
  const m = new RegExp(`(^|&)${field}=`).exec(text);
  if (!m) throw new Error(`no ${field} field to tamper with`);
  const start = m.index + m[0].length;
  return { ...r, body: Buffer.from(text.slice(0, start) + changeSignatureChar(text.slice(start), 20), 'latin1') };
}

function save(name: string, r: RawRequest): void {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(r.headers)) raw.push(k, v);
  if (r.body.length) raw.push('Content-Length', String(r.body.length));
  writeFileSync(join(files, name), formatRawHttp({ method: r.method ?? 'POST', target: r.target ?? '/', rawHeaders: raw, body: r.body }));
}

const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

beforeAll(async () => {
  if (missingChannels.length) return;
  ({ dir, cleanup } = tempDir('pay-verify-many-'));
  files = join(dir, 'callbacks');
  mkdirSync(files);
  const [{ buildNotify }, { buildV3Notification }, { signAsUnionPay, signFields }, { encodeForm }, paypal, stripe, mock] = await Promise.all([
    import('../../channels/alipay/callback.js'),
    import('../../channels/wechatpay/callback.js'),
    import('../../channels/unionpay/signature.js'),
    import('../../channels/unionpay/form.js'),
    import('../../channels/paypal/callback.js'),
    import('../../channels/stripe/callback.js'),
    import('../../channels/mock/callback.js'),
  ]);

  // Keys and certificates, all made here (test-only).
  const alipay = rsa();
  const wechat = rsa();
  const upRoot = rsa();
  const upMiddle = rsa();
  const upSign = rsa();
  const up500 = rsa();
  const pp = rsa();
  const cert = (subject: DistinguishedName, issuer: DistinguishedName, serial: bigint, key: KeyObject, signingKey: KeyObject, ca: boolean) =>
    buildCertificate({ subject, issuer, serial, notBefore: NOW - 30 * DAY, notAfter: NOW + 365 * DAY, publicKey: key, signingKey, ca });
  const rootDn: DistinguishedName = [['C', 'CN'], ['O', 'Verify Many Test Only CA'], ['CN', 'MANY TEST ROOT CA']];
  const middleDn: DistinguishedName = [['C', 'CN'], ['O', 'Verify Many Test Only CA'], ['CN', 'MANY TEST OCA1']];
  const rootPem = cert(rootDn, rootDn, 1n, upRoot.publicKey, upRoot.privateKey, true);
  const middlePem = cert(middleDn, rootDn, 2n, upMiddle.publicKey, upRoot.privateKey, true);
  const signPem = cert([['C', 'CN'], ['O', 'Verify Many Test Only'], ['CN', '041@8310000000083040@中国银联股份有限公司@00016495']], middleDn, 3n, upSign.publicKey, upMiddle.privateKey, false);
  const verify500Dn: DistinguishedName = [['C', 'CN'], ['O', 'Verify Many Test Only'], ['CN', 'MANY TEST UNIONPAY 5.0.0 VERIFY']];
  const verify500Pem = cert(verify500Dn, verify500Dn, BigInt(UNIONPAY_500_CERT_ID), up500.publicKey, up500.privateKey, false);
  const ppDn: DistinguishedName = [['C', 'US'], ['O', 'Verify Many Test Only'], ['CN', 'messageverificationcerts.sandbox.paypal.com']];
  const ppCert = cert(ppDn, ppDn, 7n, pp.publicKey, pp.privateKey, false);

  const config = join(dir, 'pay.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      channels: {
        alipay: { alipayPublicKey: pem(alipay.publicKey) },
        wechatpay: { platformPublicKey: pem(wechat.publicKey), platformSerial: WX_SERIAL, apiV3Key: WX_V3_KEY },
        unionpay: { rootCert: rootPem, middleCert: middlePem, verifyCert: verify500Pem },
        paypal: { webhookId: PAYPAL_WEBHOOK, certificate: ppCert },
        stripe: { webhookSecret: STRIPE_SECRET },
        mock: { webhookSecret: MOCK_SECRET },
      },
    }),
  );
  env = { PAY_CONFIG: config, PAY_DB: join(dir, 'pay.db') };

  const unionpayFields = (orderNo: string, minor: number, i: number) => ({
    accessType: '0',
    bizType: '000201',
    currencyCode: '156',
    merId: '777290058110097',
    orderId: orderNo,
    queryId: `7822${String(i).padStart(8, '0')}`,
    respCode: '00',
    respMsg: '成功[0000000]',
    settleAmt: String(minor),
    settleCurrencyCode: '156',
    settleDate: '0101',
    traceNo: '067402',
    traceTime: '0101100000',
    txnAmt: String(minor),
    txnSubType: '01',
    txnTime: '20260101100000',
    txnType: '01',
  });
  const form = (fields: Record<string, string>, charset: 'utf-8' | 'gbk'): RawRequest => ({
    method: 'POST',
    target: '/notify/unionpay',
    headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset === 'gbk' ? 'GBK' : 'utf-8'}` },
    body: encodeForm(fields, charset),
  });

  for (let i = 0; i < CALLBACKS; i++) {
    const kind = KINDS[i % KINDS.length];
    const orderNo = `MANY${String(i).padStart(4, '0')}`;
    const minor = 101 + i * 37; // a different amount for every file
    const tamper = i % 13 === 5 ? 'body' : i % 13 === 9 ? 'signature' : undefined;
    let r: RawRequest;
    switch (kind) {
      case 'alipay-rsa2':
      case 'alipay-rsa': {
        const signType = kind === 'alipay-rsa' ? 'RSA' : 'RSA2';
        r = buildNotify(
          { notify_type: 'trade_status_sync', notify_id: `nid${i}`, notify_time: '2026-01-01 10:00:00', app_id: '2021000000000000', out_trade_no: orderNo, trade_no: `2026010122${i}`, trade_status: 'TRADE_SUCCESS', total_amount: decimal(minor), seller_id: '2088000000000000', version: '1.0', sign_type: signType },
          alipay.privateKey,
        );
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, /(^|&)total_amount=/) };
        if (tamper === 'signature') r = tamperFormSignature(r, 'sign');
        break;
      }
      case 'wechatpay-v3':
        r = buildV3Notification({
          eventType: 'TRANSACTION.SUCCESS',
          originalType: 'transaction',
          resource: { mchid: '1900000001', appid: 'wxtest', out_trade_no: orderNo, transaction_id: `42000${i}`, trade_state: 'SUCCESS', amount: { total: minor, currency: 'CNY', payer_total: minor, payer_currency: 'CNY' }, success_time: '2026-01-01T10:00:00+08:00' },
          apiV3Key: WX_V3_KEY,
          privateKey: wechat.privateKey,
          serial: WX_SERIAL,
          nowMs: NOW,
        });
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, '"id":"') };
        if (tamper === 'signature') r = tamperHeader(r, 'wechatpay-signature');
        break;
      case 'unionpay-510':
      case 'unionpay-510-gbk': {
        const charset = kind === 'unionpay-510-gbk' ? 'gbk' : 'utf-8';
        r = form(signAsUnionPay({ ...unionpayFields(orderNo, minor, i), encoding: charset }, upSign.privateKey, signPem, charset), charset);
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, /(^|&)txnAmt=/) };
        if (tamper === 'signature') r = tamperFormSignature(r, 'signature');
        break;
      }
      case 'unionpay-500':
        r = form(signFields({ ...unionpayFields(orderNo, minor, i), encoding: 'utf-8' }, { version: '5.0.0', signMethod: '01', charset: 'utf-8', signer: { privateKey: up500.privateKey, certId: UNIONPAY_500_CERT_ID } }), 'utf-8');
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, /(^|&)txnAmt=/) };
        if (tamper === 'signature') r = tamperFormSignature(r, 'signature');
        break;
      case 'paypal':
        r = paypal.buildEvent(
          'PAYMENT.CAPTURE.COMPLETED',
          'capture',
          { id: `CAP${i}`, status: 'COMPLETED', amount: { currency_code: 'USD', value: decimal(minor) }, invoice_id: orderNo, custom_id: orderNo },
          'Payment completed',
          { webhookId: PAYPAL_WEBHOOK, privateKey: pp.privateKey, certUrl: 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-many-test', nowMs: NOW },
        );
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, '"value":"') };
        if (tamper === 'signature') r = tamperHeader(r, 'paypal-transmission-sig');
        break;
      case 'stripe':
        r = stripe.buildEvent(STRIPE_SECRET, 'payment_intent.succeeded', { id: `pi_many${i}`, object: 'payment_intent', amount: minor, currency: 'usd', status: 'succeeded', metadata: { order_no: orderNo } }, { nowMs: NOW, apiVersion: '2024-06-20' });
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, '"amount": ') };
        if (tamper === 'signature') r = tamperHeader(r, 'stripe-signature');
        break;
      case 'mock':
        r = mock.buildCallback(MOCK_SECRET, 'payment.succeeded', { orderNo, tradeNo: `MT${i}`, amount: decimal(minor), currency: 'CNY', status: 'succeeded' }, { nowMs: NOW });
        if (tamper === 'body') r = { ...r, body: changeAfter(r.body, '"amount":"') };
        if (tamper === 'signature') r = tamperHeader(r, 'pay-mock-signature');
        break;
    }
    const name = `f${String(i).padStart(3, '0')}-${kind}${tamper ? `-${tamper}` : ''}.http`;
    save(name, r);
    expected.push(
      tamper
        ? { name, verdict: 'invalid', channel: CHANNEL[kind], scheme: SCHEME[kind], reasonCode: 'BAD_SIGNATURE', tamper }
        : { name, verdict: 'valid', channel: CHANNEL[kind], scheme: SCHEME[kind], orderNo, amountMinor: minor },
    );
  }

  // Garbage among them (names that sort between the callbacks): binary noise, text that is no
  // request at all, and a well-formed request that no channel claims.
  const noise = Buffer.alloc(700);
  for (let k = 0; k < noise.length; k++) noise[k] = (k * 151 + 7) % 256;
  writeFileSync(join(files, 'f050-garbage.bin'), noise);
  writeFileSync(join(files, 'f130-notes.txt'), 'these are notes about the callbacks, not a callback\n');
  save('f210-unknown.http', { method: 'POST', target: '/somewhere', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"hello":"world"}') });
  expected.push({ name: 'f050-garbage.bin', verdict: 'error' }, { name: 'f130-notes.txt', verdict: 'error' }, { name: 'f210-unknown.http', verdict: 'error' });
  expected.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}, 60_000);
afterAll(() => cleanup());

interface Row {
  file: string;
  verdict: string;
  channel?: string;
  scheme?: string;
  reasonCode?: string;
  reason?: string;
  orderNo?: string;
  amountMinor?: number;
  error?: { code: string };
}

/** The part of a row this test pins down, in one comparable line. */
const verdictLine = (r: Pick<Row, 'verdict' | 'channel' | 'scheme' | 'reasonCode'> & { name: string }) =>
  r.verdict === 'error' ? `${r.name}: error` : `${r.name}: ${r.verdict} ${r.channel} ${r.scheme}${r.reasonCode ? ` ${r.reasonCode}` : ''}`;

/** A copy of the callbacks directory holding only the files `keep` accepts. */
function copyOf(name: string, keep: (e: Expected) => boolean): { path: string; kept: Expected[] } {
  const path = join(dir, name);
  mkdirSync(path);
  const kept = expected.filter(keep);
  for (const e of kept) copyFileSync(join(files, e.name), join(path, e.name));
  return { path, kept };
}

/** Runs `pay -v verify <path> --json --at <signing moment>` and checks every row against `want`. */
async function verifyAll(path: string, want: readonly Expected[]): Promise<{ code: number; rows: Row[] }> {
  expect(readdirSync(path).length).toBe(want.length);
  const r = await runPayJson<Row[]>(['-v', 'verify', path, '--at', AT], { env });
  // The worker never failed over to the main thread (it reports that through -v).
  expect(r.stderr).not.toMatch(/RSA worker/);
  const rows = r.json;
  expect(rows.map((x) => verdictLine({ ...x, name: basename(x.file) }))).toEqual(want.map(verdictLine));
  // What each valid callback claims is what was signed into that file.
  const claims = (list: Array<{ orderNo?: string; amountMinor?: number }>) => list.map((x) => `${x.orderNo} ${x.amountMinor}`);
  const valid = want.map((e, i) => ({ e, row: rows[i] })).filter((x) => x.e.verdict === 'valid');
  expect(claims(valid.map((x) => x.row))).toEqual(claims(valid.map((x) => x.e)));
  return { code: r.code, rows };
}

describe.skipIf(missingChannels.length > 0)(`pay verify over ${CALLBACKS}+ files (RSA checks in the worker thread)`, () => {
  it('every file gets its own verdict, in directory order; garbage is exit 2', async () => {
    expect(expected.length).toBe(CALLBACKS + 3);
    expect(CALLBACKS - 40).toBeGreaterThanOrEqual(RSA_THREAD_FROM); // every run below takes the worker path
    const counts = (v: string) => expected.filter((e) => e.verdict === v).length;
    expect([counts('valid'), counts('invalid'), counts('error')]).toEqual([220, 40, 3]);
    // Every kind has both tampers, so each scheme's failure goes through the worker.
    for (const k of KINDS) for (const t of ['body', 'signature']) expect(expected.some((e) => e.name.includes(`-${k}-${t}`)), `${k} ${t}`).toBe(true);

    const { code, rows } = await verifyAll(files, expected);
    expect(code).toBe(2);
    // Garbage: bad input (exit 2 material), each saying what is wrong with it.
    const garbage = rows.filter((x) => x.verdict === 'error').map((x) => ({ file: basename(x.file), code: x.error?.code, reason: x.reason }));
    expect(garbage).toEqual([
      { file: 'f050-garbage.bin', code: 'INVALID_REQUEST', reason: expect.stringMatching(/binary data, not a saved callback/) },
      { file: 'f130-notes.txt', code: 'INVALID_REQUEST', reason: expect.stringMatching(/not a callback file/) },
      { file: 'f210-unknown.http', code: 'INVALID_REQUEST', reason: expect.stringMatching(/no channel recognises/) },
    ]);
  });

  it('without the garbage, the tampered files make it exit 1; without those too, exit 0', async () => {
    const clean = copyOf('no-garbage', (e) => e.verdict !== 'error');
    expect((await verifyAll(clean.path, clean.kept)).code).toBe(1);
    const valid = copyOf('all-valid', (e) => e.verdict === 'valid');
    expect(valid.kept.length).toBeGreaterThanOrEqual(RSA_THREAD_FROM);
    expect((await verifyAll(valid.path, valid.kept)).code).toBe(0);
  });

  it('a run that fails before verifying (unknown --channel) says so: exit 2, nothing on stdout', async () => {
    // The RSA thread has started by then (before the channel modules load); the command stops it
    // (test/unit/rsa-worker.test.ts checks that in-process).
    const r = await runPay(['verify', files, '--channel', 'no-such-channel', '--at', AT], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown channel "no-such-channel"/);
    expect(r.stdout).toBe('');
  });
});
