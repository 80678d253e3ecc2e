/**
 * Every published vector in ../shared/vectors through the `pay verify` BINARY: valid as of its
 * `at`, with its key material in a temporary config under the channel's settings (key fields by
 * their DESIGN.md names; certificate files beside the vector referenced with file:), and a
 * one-byte change to the body, to the signature and to a header (where the scheme has headers)
 * making it invalid (exit 1, BAD_SIGNATURE). A vector with an `at` is invalid today without --at
 * (an expired timestamp or certificate).
 *
 * The vector files are read in place, never copied; tampered variants are written to a temporary
 * directory. Skips with a visible notice when ../shared is absent, and per vector while its
 * channel is not yet registered in the registry.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinChannelIds } from '../../src/channel/registry.js';
import { HAS_SHARED, runPayJson, SHARED_DIR, sharedNotice, tempDir } from '../helpers/cli.js';

const VECTORS = join(SHARED_DIR, 'vectors');
/** Fields of a vector file that describe the case rather than hold key material. */
const META = new Set(['channel', 'source', 'note', 'headers', 'body', 'query', 'at', 'expect', 'params', 'expectMD5', 'expectHMACSHA256']);
/** Form fields that carry the signature itself, or change how it is checked rather than what. */
const SIGNATURE_FIELDS = new Set(['sign', 'signature']);
const NOT_CONTENT = new Set(['sign', 'signature', 'sign_type', 'signmethod', 'signpubkeycert', 'charset', 'encoding', 'version', 'certid']);

interface Vector {
  file: string;
  channel: string;
  headers?: Record<string, string>;
  body?: string;
  query?: string;
  at?: string | number;
  params?: Record<string, string>;
  expectMD5?: string;
  expectHMACSHA256?: string;
  [key: string]: unknown;
}

/** A request to write: method, target, headers, body bytes. */
interface Case {
  method: string;
  target: string;
  headers: Record<string, string>;
  body: Buffer;
}

const vectors: Vector[] = HAS_SHARED
  ? readdirSync(VECTORS)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({ ...(JSON.parse(readFileSync(join(VECTORS, f), 'utf8')) as Omit<Vector, 'file'>), file: f }) as Vector)
  : [];
const registered = new Set(builtinChannelIds());
const pending = [...new Set(vectors.filter((v) => !registered.has(v.channel)).map((v) => v.channel))];
if (!HAS_SHARED) sharedNotice('published signature vectors');
else if (pending.length) {
  process.stderr.write(`NOTICE: verify-vectors: channels not registered yet, their vectors skip: ${pending.join(', ')}\n`);
}

/** The next character of the same kind (hex digits stay hex), so the change is one byte. */
function bump(ch: string): string {
  if (/[0-9]/.test(ch)) return String((Number(ch) + 1) % 10);
  if (/[a-e]/.test(ch) || /[A-E]/.test(ch)) return String.fromCharCode(ch.charCodeAt(0) + 1);
  if (ch === 'f') return 'a';
  if (ch === 'F') return 'A';
  if (ch === 'z') return 'g';
  if (ch === 'Z') return 'G';
  return String.fromCharCode(ch.charCodeAt(0) + 1);
}

/** Positions of letters and digits in `text` that are not inside a %XX escape. */
function alnumPositions(text: string, from = 0, to = text.length): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) {
    if (text[i] === '%') {
      i += 2;
      continue;
    }
    if (/[A-Za-z0-9]/.test(text[i])) out.push(i);
  }
  return out;
}

function bumpAt(text: string, i: number): string {
  return text.slice(0, i) + bump(text[i]) + text.slice(i + 1);
}

/** [key, valueStart, valueEnd] of each k=v pair of a form/query string. */
function formPairs(text: string): [string, number, number][] {
  const out: [string, number, number][] = [];
  let pos = 0;
  for (const part of text.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.push([part.slice(0, eq), pos + eq + 1, pos + part.length]);
    pos += part.length + 1;
  }
  return out;
}

const isForm = (text: string) => !text.trimStart().startsWith('{') && !text.trimStart().startsWith('<') && text.includes('=');

/** One byte of signed content changed: a form field's value, or the last letter of JSON/XML. */
function tamperContent(text: string): string {
  if (isForm(text)) {
    for (const [key, start, end] of formPairs(text)) {
      if (NOT_CONTENT.has(key.toLowerCase())) continue;
      const pos = alnumPositions(text, start, end);
      if (pos.length) return bumpAt(text, pos[pos.length - 1]);
    }
    throw new Error('no content field to tamper');
  }
  if (text.trimStart().startsWith('<')) {
    // Inside the first CDATA text that is not the signature.
    const m = /<(\w+)><!\[CDATA\[([^\]]*[A-Za-z0-9][^\]]*)\]\]>/.exec(text);
    if (m && m[1] !== 'sign') {
      const at = text.indexOf(m[2], m.index) + m[2].search(/[A-Za-z0-9]/);
      return bumpAt(text, at);
    }
  }
  const pos = alnumPositions(text);
  return bumpAt(text, pos[pos.length - 1]);
}

/** One byte of a signature changed, in the middle (never in base64 padding bits). */
function tamperSignatureValue(value: string, from = 0): string {
  const pos = alnumPositions(value, from);
  return bumpAt(value, pos[Math.floor(pos.length / 2)]);
}

function tamperFormSignature(text: string): string {
  const pair = formPairs(text).find(([k]) => SIGNATURE_FIELDS.has(k));
  if (!pair) throw new Error('no signature field');
  const pos = alnumPositions(text, pair[1], pair[2]);
  return bumpAt(text, pos[Math.floor(pos.length / 2)]);
}

function signatureHeader(headers: Record<string, string>): string | undefined {
  return Object.keys(headers).find((h) => /signature$|-sig$/i.test(h));
}

/** Raw HTTP bytes of a case (Content-Length added). */
function rawHttp(c: Case): Buffer {
  let head = `${c.method} ${c.target} HTTP/1.1\r\nHost: merchant.example\r\n`;
  for (const [k, v] of Object.entries(c.headers)) head += `${k}: ${v}\r\n`;
  if (c.body.length) head += `Content-Length: ${c.body.length}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), c.body]);
}

/** WeChat Pay v2 notify XML from a signing example: params plus the expected sign. */
function v2Xml(params: Record<string, string>, sign: string): string {
  const fields = Object.entries(params).map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`);
  return `<xml>${fields.join('')}<sign><![CDATA[${sign}]]></sign></xml>`;
}

/** The vector as a request, plus its one-byte tampered variants with what they change. */
function casesOf(v: Vector): { valid: Case[]; tampered: { what: string; c: Case }[] } {
  if (v.params && v.expectMD5) {
    const variants = [v.expectMD5, ...(v.expectHMACSHA256 ? [v.expectHMACSHA256] : [])];
    const valid = variants.map((sign) => ({ method: 'POST', target: '/notify', headers: { 'Content-Type': 'text/xml' }, body: Buffer.from(v2Xml(v.params!, sign)) }));
    const md5 = v2Xml(v.params, v.expectMD5);
    const signAt = md5.indexOf(v.expectMD5);
    return {
      valid,
      tampered: [
        { what: 'body', c: { ...valid[0], body: Buffer.from(tamperContent(md5)) } },
        { what: 'signature', c: { ...valid[0], body: Buffer.from(md5.slice(0, signAt) + tamperSignatureValue(v.expectMD5) + md5.slice(signAt + v.expectMD5.length)) } },
      ],
    };
  }
  const headers = { ...(v.headers ?? {}) };
  if (v.query !== undefined) {
    const base: Case = { method: 'GET', target: `/return?${v.query}`, headers, body: Buffer.alloc(0) };
    return {
      valid: [base],
      tampered: [
        { what: 'body', c: { ...base, target: `/return?${tamperContent(v.query)}` } },
        { what: 'signature', c: { ...base, target: `/return?${tamperFormSignature(v.query)}` } },
      ],
    };
  }
  const body = v.body!;
  const base: Case = { method: 'POST', target: '/notify', headers, body: Buffer.from(body, 'utf8') };
  const tampered: { what: string; c: Case }[] = [{ what: 'body', c: { ...base, body: Buffer.from(tamperContent(body), 'utf8') } }];
  const sigHeader = signatureHeader(headers);
  if (sigHeader) {
    const value = headers[sigHeader];
    const v1 = value.indexOf('v1=');
    tampered.push({ what: 'signature', c: { ...base, headers: { ...headers, [sigHeader]: tamperSignatureValue(value, v1 >= 0 ? v1 + 3 : 0) } } });
    // A header that is part of the signed message besides the signature itself.
    const signedHeader = Object.keys(headers).find((h) => /nonce|transmission-id/i.test(h));
    if (signedHeader) {
      const hv = headers[signedHeader];
      const pos = alnumPositions(hv);
      tampered.push({ what: `header ${signedHeader}`, c: { ...base, headers: { ...headers, [signedHeader]: bumpAt(hv, pos[pos.length - 1]) } } });
    } else if (/(^|,)t=\d+/.test(value)) {
      const t = /(?:^|,)t=(\d+)/.exec(value)!;
      const end = t.index + t[0].length - 1;
      tampered.push({ what: `header ${sigHeader} t=`, c: { ...base, headers: { ...headers, [sigHeader]: bumpAt(value, end) } } });
    }
  } else {
    tampered.push({ what: 'signature', c: { ...base, body: Buffer.from(tamperFormSignature(body), 'utf8') } });
  }
  return { valid: [base], tampered };
}

/** The channel's settings from the vector: key fields by name; files beside it by file:. */
function settingsOf(v: Vector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(v)) {
    if (META.has(k) || k === 'file') continue;
    out[k] = typeof value === 'string' && /^[\w.-]+\.(pem|crt|cer|key|p12|pfx)$/i.test(value) && existsSync(join(VECTORS, value)) ? `file:${join(VECTORS, value)}` : value;
  }
  return out;
}

let dir = '';
let cleanup = () => {};
beforeAll(() => {
  ({ dir, cleanup } = tempDir('pay-vectors-'));
});
afterAll(() => cleanup());

describe.skipIf(!HAS_SHARED)('published vectors through pay verify', () => {
  it('there are vectors for every real channel', () => {
    expect(new Set(vectors.map((v) => v.channel))).toEqual(new Set(['alipay', 'wechatpay', 'stripe', 'paypal', 'unionpay']));
  });

  for (const v of vectors) {
    describe(v.file, () => {
      const ready = registered.has(v.channel);
      const setup = () => {
        const name = v.file.replace(/\.json$/, '');
        const config = join(dir, `${name}.config.json`);
        writeFileSync(config, JSON.stringify({ channels: { [v.channel]: settingsOf(v) } }));
        const at = v.at === undefined ? [] : ['--at', String(v.at)];
        return { name, config, at };
      };

      it.skipIf(!ready)(`is valid${v.at !== undefined ? ` as of ${v.at}` : ''}`, async () => {
        const { name, config, at } = setup();
        const { valid } = casesOf(v);
        // The vector file itself is a JSON envelope pay reads in place; built cases are raw HTTP.
        const files = v.params ? [] : [join(VECTORS, v.file)];
        valid.forEach((c, i) => {
          const f = join(dir, `${name}.valid${i}.http`);
          writeFileSync(f, rawHttp(c));
          files.push(f);
        });
        // A form body or a return query saved on its own, one line, with the newline editors add.
        const form = v.query ?? (v.body !== undefined && isForm(v.body) ? v.body : undefined);
        if (form !== undefined) {
          const f = join(dir, `${name}.bare.txt`);
          writeFileSync(f, `${form}\n`);
          files.push(f);
        }
        const r = await runPayJson(['verify', ...files, ...at], { env: { PAY_CONFIG: config, PAY_DB: join(dir, 'pay.db') } });
        expect(r.json.map((x: { verdict: string; reason?: string }) => `${x.verdict}${x.reason ? `: ${x.reason}` : ''}`)).toEqual(files.map(() => 'valid'));
        expect(r.code).toBe(0);
        for (const row of r.json) expect(row.channel).toBe(v.channel);
      });

      if (v.at !== undefined) {
        it.skipIf(!ready)('is invalid today without --at: its timestamp or certificate has expired', async () => {
          const { config } = setup();
          const r = await runPayJson(['verify', join(VECTORS, v.file)], { env: { PAY_CONFIG: config, PAY_DB: join(dir, 'pay.db') } });
          expect(r.json[0].verdict).toBe('invalid');
          expect(['EXPIRED', 'UNTRUSTED_CERT']).toContain(r.json[0].reasonCode);
          expect(r.code).toBe(1);
        });
      }

      it.skipIf(!ready)('a one-byte change to the body, the signature or a header is invalid (exit 1, BAD_SIGNATURE)', async () => {
        const { name, config, at } = setup();
        const { tampered } = casesOf(v);
        const files = tampered.map((t, i) => {
          const f = join(dir, `${name}.tampered${i}.http`);
          writeFileSync(f, rawHttp(t.c));
          return f;
        });
        const r = await runPayJson(['verify', '--channel', v.channel, ...files, ...at], { env: { PAY_CONFIG: config, PAY_DB: join(dir, 'pay.db') } });
        const got = r.json.map((x: { verdict: string; reasonCode?: string }, i: number) => `${tampered[i].what}: ${x.verdict} ${x.reasonCode ?? ''}`);
        expect(got).toEqual(tampered.map((t) => `${t.what}: invalid BAD_SIGNATURE`));
        expect(r.code).toBe(1);
      });
    });
  }
});
