/**
 * The shortcuts `pay verify` takes for speed keep every answer the slow path gave:
 * - keys and certificates parsed once per settings object still follow the settings (a changed
 *   key on the same object is used) and the moment (`at` outside a certificate's validity fails
 *   with the same reason as before, inside it passes);
 * - the one-buffer file reader returns every byte of files larger than its buffer (pipes: the
 *   e2e test verify-stdin.test.ts);
 * - the header block cut as one string parses line ends and edge cases as before;
 * - UnionPay wire times and Alipay forms agree with their former implementations (kept here as
 *   oracles) on many generated inputs.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { buildNotify } from '../../channels/alipay/callback.js';
import { alipayCallbacks } from '../../channels/alipay/callback.js';
import { parseForm, percentDecode } from '../../channels/alipay/signature.js';
import { buildEvent, paypalCallbacks } from '../../channels/paypal/callback.js';
import { verifyUnionPayCallback } from '../../channels/unionpay/callback.js';
import { encodeForm } from '../../channels/unionpay/form.js';
import { signAsUnionPay } from '../../channels/unionpay/signature.js';
import { fromMonthDayTime, fromTxnTime } from '../../channels/unionpay/wire-time.js';
import { buildV3Notification, wechatpayCallbacks } from '../../channels/wechatpay/callback.js';
import { buildCertificate, type DistinguishedName } from '../../src/channel/x509.js';
import { expandInputs } from '../../src/verify/inputs.js';
import { parseRequestFile, readRequestFile } from '../../src/verify/request-file.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-23T08:00:00Z');
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(join(tmpdir(), 'pay-verify-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keys parsed once per settings object', () => {
  it('Alipay: a key changed on the same settings object is the one used', async () => {
    const a = rsa();
    const b = rsa();
    const request = buildNotify({ notify_type: 'trade_status_sync', notify_id: 'n1', app_id: '2021000000000001', out_trade_no: 'P1', trade_no: 'T1', trade_status: 'TRADE_SUCCESS', total_amount: '1.00' }, a.privateKey);
    const settings: Record<string, unknown> = { alipayPublicKey: a.publicKey.export({ type: 'spki', format: 'pem' }) };
    expect((await alipayCallbacks.verify(request, settings, { at: NOW })).valid).toBe(true);
    expect((await alipayCallbacks.verify(request, settings, { at: NOW })).valid).toBe(true);
    settings.alipayPublicKey = b.publicKey.export({ type: 'spki', format: 'pem' });
    expect(await alipayCallbacks.verify(request, settings, { at: NOW })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
    settings.alipayPublicKey = 'not a key';
    await expect(alipayCallbacks.verify(request, settings, { at: NOW })).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
    // The error is remembered with the text that caused it, and raised for every callback.
    await expect(alipayCallbacks.verify(request, settings, { at: NOW })).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
    delete settings.alipayPublicKey;
    expect(await alipayCallbacks.verify(request, settings, { at: NOW })).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY' });
  });

  it('PayPal: the chain trusted at one moment is checked again outside its validity', async () => {
    const ca = rsa();
    const leaf = rsa();
    const caDn: DistinguishedName = [['C', 'US'], ['O', 'Test Only CA'], ['CN', 'Test Only Root']];
    const caPem = buildCertificate({ subject: caDn, serial: 1n, notBefore: NOW - 10 * DAY, notAfter: NOW + 20 * DAY, publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true });
    const certPem = buildCertificate({
      subject: [['C', 'US'], ['O', 'Test Only'], ['CN', 'messageverificationcerts.sandbox.paypal.com']],
      issuer: caDn,
      serial: 2n,
      notBefore: NOW - DAY,
      notAfter: NOW + 10 * DAY,
      publicKey: leaf.publicKey,
      signingKey: ca.privateKey,
    });
    const webhookId = 'WH-TEST-ONLY';
    const request = buildEvent('PAYMENT.CAPTURE.COMPLETED', 'capture', { id: 'C1', status: 'COMPLETED', amount: { currency_code: 'USD', value: '1.00' }, invoice_id: 'P1' }, 'done', {
      webhookId,
      privateKey: leaf.privateKey,
      certUrl: 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test',
      nowMs: NOW,
    });
    const settings: Record<string, unknown> = { webhookId, certificate: certPem, caCertificate: caPem };
    expect((await paypalCallbacks.verify(request, settings, { at: NOW })).valid).toBe(true);
    // Inside the windows of both certificates: still trusted; past the leaf's end: refused as before.
    expect((await paypalCallbacks.verify(request, settings, { at: NOW + 9 * DAY })).valid).toBe(true);
    const late = await paypalCallbacks.verify(request, settings, { at: NOW + 11 * DAY });
    expect(late).toMatchObject({ valid: false, reasonCode: 'UNTRUSTED_CERT' });
    expect(late.reason).toMatch(/expired on .*verify an old file with --at/);
    expect(await paypalCallbacks.verify(request, settings, { at: NOW - 2 * DAY })).toMatchObject({ valid: false, reasonCode: 'UNTRUSTED_CERT', reason: expect.stringMatching(/not valid before/) });
    expect((await paypalCallbacks.verify(request, settings, { at: NOW })).valid).toBe(true);
    // A different CA on the same settings object is read again: the chain no longer holds.
    const other = rsa();
    settings.caCertificate = buildCertificate({ subject: caDn, serial: 3n, notBefore: NOW - DAY, notAfter: NOW + DAY, publicKey: other.publicKey, signingKey: other.privateKey, ca: true });
    expect(await paypalCallbacks.verify(request, settings, { at: NOW })).toMatchObject({ valid: false, reasonCode: 'UNTRUSTED_CERT', reason: expect.stringMatching(/does not chain/) });
    settings.caCertificate = 'garbage';
    await expect(paypalCallbacks.verify(request, settings, { at: NOW })).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
    // Without the signing certificate the verdict is MISSING_KEY, whatever the CA setting holds.
    delete settings.certificate;
    expect(await paypalCallbacks.verify(request, settings, { at: NOW })).toMatchObject({ valid: false, reasonCode: 'MISSING_KEY' });
  });

  it('UnionPay: a chain found good is re-checked when the moment leaves its window', async () => {
    const root = rsa();
    const middle = rsa();
    const sign = rsa();
    const rootDn: DistinguishedName = [['C', 'CN'], ['O', 'Test Only CA'], ['CN', 'TEST ROOT']];
    const middleDn: DistinguishedName = [['C', 'CN'], ['O', 'Test Only CA'], ['CN', 'TEST OCA1']];
    const cert = (subject: DistinguishedName, issuer: DistinguishedName, serial: bigint, key: { publicKey: KeyObject }, by: KeyObject, from: number, to: number, ca: boolean) =>
      buildCertificate({ subject, issuer, serial, notBefore: from, notAfter: to, publicKey: key.publicKey, signingKey: by, ca });
    const rootPem = cert(rootDn, rootDn, 1n, root, root.privateKey, NOW - 100 * DAY, NOW + 100 * DAY, true);
    const middlePem = cert(middleDn, rootDn, 2n, middle, root.privateKey, NOW - 50 * DAY, NOW + 50 * DAY, true);
    const signPem = cert([['C', 'CN'], ['O', 'Test Only'], ['CN', '041@8310000000083040@中国银联股份有限公司@00016495']], middleDn, 3n, sign, middle.privateKey, NOW - 5 * DAY, NOW + 5 * DAY, false);
    const fields = signAsUnionPay({ accessType: '0', bizType: '000201', currencyCode: '156', encoding: 'utf-8', merId: '777290058110097', orderId: 'P1', queryId: 'Q1', respCode: '00', respMsg: 'success', txnAmt: '100', txnSubType: '01', txnTime: '20261123160000', txnType: '01' }, sign.privateKey, signPem);
    const request = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encodeForm(fields, 'utf-8') };
    const settings = { rootCert: rootPem, middleCert: middlePem };
    expect((await verifyUnionPayCallback(request, settings, { at: NOW })).valid).toBe(true);
    expect((await verifyUnionPayCallback(request, settings, { at: NOW + 4 * DAY })).valid).toBe(true);
    expect(await verifyUnionPayCallback(request, settings, { at: NOW + 6 * DAY })).toMatchObject({ valid: false, reasonCode: 'EXPIRED' });
    expect((await verifyUnionPayCallback(request, settings, { at: NOW })).valid).toBe(true);
  });

  it('WeChat Pay v3: a public key changed on the same settings object is the one used', async () => {
    const a = rsa();
    const b = rsa();
    const apiV3Key = 'testOnlyApiV3Key0123456789abcdef';
    const serial = 'PUB_KEY_ID_0114232134912410000000000000TEST';
    const request = buildV3Notification({
      eventType: 'TRANSACTION.SUCCESS',
      originalType: 'transaction',
      resource: { out_trade_no: 'P1', transaction_id: 'T1', trade_state: 'SUCCESS', amount: { total: 100, currency: 'CNY' } },
      apiV3Key,
      privateKey: a.privateKey,
      serial,
      nowMs: NOW,
    });
    const settings: Record<string, unknown> = { platformPublicKey: a.publicKey.export({ type: 'spki', format: 'pem' }), platformSerial: serial, apiV3Key };
    expect((await wechatpayCallbacks.verify(request, settings, { at: NOW })).valid).toBe(true);
    expect(await wechatpayCallbacks.verify(request, settings, { at: NOW + 301_000 })).toMatchObject({ valid: false, reasonCode: 'EXPIRED' });
    settings.platformPublicKey = b.publicKey.export({ type: 'spki', format: 'pem' });
    expect(await wechatpayCallbacks.verify(request, settings, { at: NOW })).toMatchObject({ valid: false, reasonCode: 'BAD_SIGNATURE' });
  });
});

describe('reading files with one buffer', () => {
  const raw = (body: Buffer) => Buffer.concat([Buffer.from(`POST /n HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);

  it('returns every byte of files smaller than, equal to and larger than the buffer', async () => {
    for (const size of [1, 65_536 - 80, 65_536, 65_537, 200_003]) {
      // The exact file size: the request line and headers take the rest of the target size.
      const filler = Buffer.alloc(size, 0x61);
      filler[0] = 0x7b;
      const bytes = raw(filler);
      const path = join(dir, `big-${size}.http`);
      writeFileSync(path, bytes);
      const parsed = await readRequestFile(path);
      expect(parsed.entries[0].request!.body.equals(filler)).toBe(true);
    }
    const exact = Buffer.alloc(65_536, 0x62);
    const head = raw(Buffer.alloc(0)).length;
    const body = exact.subarray(0, 65_536 - head - 5);
    const file = raw(body);
    writeFileSync(join(dir, 'exact.http'), file);
    expect((await readRequestFile(join(dir, 'exact.http'))).entries[0].request!.body.equals(body)).toBe(true);
  });

  it('never hands out the read buffer: bodies read earlier survive the reads after them', async () => {
    const files = {
      'a.json': Buffer.from('{"id":"evt_a","type":"x"}'),
      'b.xml': Buffer.from('<xml><return_code>SUCCESS</return_code></xml>'),
      'c.http': raw(Buffer.from('{"id":"c"}')),
      'd.txt': Buffer.from('a=1&b=2\n'),
      'e.json': Buffer.from(JSON.stringify({ headers: { 'x-a': '1' }, body: '{"e":1}' })),
    };
    const read = [];
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(join(dir, name), bytes);
      read.push(await readRequestFile(join(dir, name), { source: name }));
    }
    // Overwrite the read buffer with other bytes.
    writeFileSync(join(dir, 'z.http'), raw(Buffer.alloc(5000, 0x7a)));
    await readRequestFile(join(dir, 'z.http'));
    const bodies = read.map((r) => r.entries[0].request!.body.toString('latin1'));
    expect(bodies).toEqual(['{"id":"evt_a","type":"x"}', '<xml><return_code>SUCCESS</return_code></xml>', '{"id":"c"}', 'a=1&b=2', '{"e":1}']);
    expect(read.map((r) => r.format)).toEqual(['body', 'body', 'http', 'body', 'envelope']);
  });

  it('names directory files as join(arg, name) does, with their absolute paths beside them', () => {
    mkdirSync(join(dir, 'sub', 'inner'), { recursive: true });
    for (const n of ['1.http', '2.http']) writeFileSync(join(dir, 'sub', 'inner', n), 'x');
    writeFileSync(join(dir, 'sub', 's.http'), 'x');
    const inner = join(dir, 'sub', 'inner');
    const cases: Array<[arg: string, cwd: string]> = [
      ...['sub/inner', './sub/inner/', 'sub//inner', inner, `${inner}/`, 'sub/../sub/inner', 'sub/inner/.', 'sub/inner/..'].map((a) => [a, dir] as [string, string]),
      ...['.', './', '', '..', '../inner'].map((a) => [a, inner] as [string, string]),
    ];
    for (const [arg, cwd] of cases) {
      const [input] = expandInputs([arg], cwd);
      const names = input.files.map((f) => f.slice(f.lastIndexOf('/') + 1));
      expect(input.files, arg).toEqual(names.map((n) => join(arg, n)));
      expect(input.paths, arg).toEqual(input.files.map((f) => resolve(cwd, f)));
    }
    expect(expandInputs([join(inner, '1.http')], dir)[0].paths).toBeUndefined();
    // Symbolic links count by what they point to: a file yes; a directory or nothing, no.
    const links = join(dir, 'links');
    mkdirSync(links);
    symlinkSync(join(inner, '1.http'), join(links, 'to-file.http'));
    symlinkSync(inner, join(links, 'to-dir'));
    symlinkSync(join(dir, 'nowhere'), join(links, 'dangling.http'));
    writeFileSync(join(links, 'plain.http'), 'x');
    expect(expandInputs(['links'], dir)[0].files).toEqual([join('links', 'plain.http'), join('links', 'to-file.http')]);
  });

  it('keeps its messages for missing files and directories', async () => {
    await expect(readRequestFile(join(dir, 'nope.http'), { source: 'nope.http' })).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/cannot read nope.http \(no such file\)/) });
    await expect(readRequestFile(dir, { source: 'd' })).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/cannot read d \(a directory\)/) });
  });
});

describe('header block cut as one string', () => {
  const parse = (text: string) => parseRequestFile(Buffer.from(text, 'latin1'), { source: 'f' }).entries[0].request!;

  it('reads LF and CRLF files, folded lines, repeated headers, and stops at the first blank line', () => {
    expect(parse('POST /a HTTP/1.1\nA: 1\nb: 2\n\nbody')).toMatchObject({ headers: { a: '1', b: '2' }, body: Buffer.from('body') });
    expect(parse('POST /a HTTP/1.1\r\nA: 1\r\nB: x\r\n  y\r\nb: 3\r\n\r\nbo\r\n\ndy')).toMatchObject({ headers: { a: '1', b: 'x y, 3' }, body: Buffer.from('bo\r\n\ndy') });
    // An LF blank line before a CRLF one, and the other way round.
    expect(parse('POST /a HTTP/1.1\r\nA: 1\n\r\nx: y\r\n\r\nz').body.toString()).toBe('x: y\r\n\r\nz');
    expect(parse('POST /a HTTP/1.1\nA: 1\r\n\r\n\n\nz').body.toString()).toBe('\n\nz');
    // Blank line right after the request line.
    expect(parse('POST /a HTTP/1.1\n\nbody')).toMatchObject({ headers: {}, body: Buffer.from('body') });
    // Latin-1 header values keep their bytes.
    expect(parse('POST /a HTTP/1.1\nX: caf\u00e9\n\nb').headers.x).toBe('caf\u00e9');
  });

  it('keeps the errors for headers without a body and for lines that are not headers', () => {
    expect(() => parse('POST /a HTTP/1.1\nA: 1\nB: 2')).toThrow(/headers without a body: the file ends inside the header section/);
    expect(() => parse('POST /a HTTP/1.1\nA: 1\n\r')).toThrow(/headers without a body: nothing follows the blank line/);
    expect(() => parse('POST /a HTTP/1.1\nA: 1\nnot a header\n\nbody')).toThrow(/line 3 \("not a header"\) is not a header/);
  });
});

// The former implementations, as oracles for the rewritten ones.
function oldFromTxnTime(s: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s ?? '');
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const check = new Date(ms);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return undefined;
  return ms - 8 * 3600_000;
}

function oldFromMonthDayTime(s: string, nearMs: number): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const year = new Date(nearMs + 8 * 3600_000).getUTCFullYear();
  let best: number | undefined;
  for (const y of [year - 1, year, year + 1]) {
    const t = oldFromTxnTime(`${y}${s}`);
    if (t !== undefined && (best === undefined || Math.abs(t - nearMs) < Math.abs(best - nearMs))) best = t;
  }
  return best;
}

function oldParseForm(body: Buffer): Array<{ key: string; value: Buffer }> {
  const fields: Array<{ key: string; value: Buffer }> = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === 0x26) {
      if (i > start) {
        const part = body.subarray(start, i);
        const eq = part.indexOf(0x3d);
        const k = eq < 0 ? part : part.subarray(0, eq);
        const v = eq < 0 ? Buffer.alloc(0) : part.subarray(eq + 1);
        fields.push({ key: percentDecode(k).toString('latin1'), value: percentDecode(v) });
      }
      start = i + 1;
    }
  }
  return fields;
}

describe('rewritten parsers agree with the former ones', () => {
  it('UnionPay wire times, valid and invalid, around leap days and years 0-99', () => {
    const next = rng(42);
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const years = [0, 4, 50, 99, 100, 1900, 1999, 2000, 2024, 2025, 2026, 2100, 9999];
    for (let i = 0; i < 20_000; i++) {
      const y = next() < 0.5 ? years[Math.floor(next() * years.length)] : Math.floor(next() * 10_000);
      const mo = Math.floor(next() * 14);
      const d = Math.floor(next() * 33);
      const h = Math.floor(next() * 26);
      const mi = Math.floor(next() * 62);
      const s = Math.floor(next() * 62);
      const text = `${pad(y, 4)}${pad(mo, 2)}${pad(d, 2)}${pad(h, 2)}${pad(mi, 2)}${pad(s, 2)}`;
      expect(fromTxnTime(text), text).toBe(oldFromTxnTime(text));
      const near = Date.UTC(1000 + Math.floor(next() * 9000), Math.floor(next() * 12), 1 + Math.floor(next() * 28));
      expect(fromMonthDayTime(text.slice(4), near), `${text.slice(4)} near ${near}`).toBe(oldFromMonthDayTime(text.slice(4), near));
    }
    for (const bad of ['', '2026112316000', '2026-11-23 16:00', 'abcdefghijklmn', undefined]) expect(fromTxnTime(bad)).toBe(oldFromTxnTime(bad));
    expect(fromMonthDayTime('0101000000', Date.UTC(1000, 0, 1))).toBe(oldFromMonthDayTime('0101000000', Date.UTC(1000, 0, 1)));
    expect(fromMonthDayTime('1231235959', Date.UTC(9999, 11, 31))).toBe(oldFromMonthDayTime('1231235959', Date.UTC(9999, 11, 31)));
  });

  it('Alipay forms: the same keys and value bytes, and text only for plain ASCII values', () => {
    const next = rng(7);
    const pieces = ['a', 'sign', '=', '&', '%', '%2', '%41', '%e4%b8%ad', '+', '%zz', '中', 'é', 'x', '&&', '=='];
    for (let i = 0; i < 5000; i++) {
      let text = '';
      const n = Math.floor(next() * 12);
      for (let j = 0; j < n; j++) text += pieces[Math.floor(next() * pieces.length)];
      const body = Buffer.from(text, next() < 0.5 ? 'utf8' : 'latin1');
      const got = parseForm(body);
      const want = oldParseForm(body);
      expect(got.map((f) => [f.key, f.value.toString('hex')]), text).toEqual(want.map((f) => [f.key, f.value.toString('hex')]));
      for (const f of got) if (f.text !== undefined) expect(f.text).toBe(f.value.toString('latin1'));
      for (const f of got) if (f.text !== undefined) expect(/^[\x00-\x7f]*$/.test(f.text)).toBe(true);
    }
  });
});
