/**
 * Request files: every format `pay verify` reads, byte-exact bodies (non-UTF-8 bytes included),
 * CRLF and LF, chunked bodies, and each kind of bad input as a clear INVALID_REQUEST (exit 2).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPayError, type PayError } from '../../src/core/errors.js';
import { formatRawHttp, parseHeaderFlags, parseRequestFile, readRequestFile } from '../../src/verify/request-file.js';
import { tempDir } from '../helpers/cli.js';

// GBK bytes for 中文 plus bytes that are not valid UTF-8 on their own.
const GBK = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);
const BODY = Buffer.concat([Buffer.from('subject='), GBK, Buffer.from('&total_amount=1.00&x=%25\xff', 'latin1')]);

function http(lines: string[], body: Buffer, eol = '\r\n'): Buffer {
  return Buffer.concat([Buffer.from(lines.join(eol) + eol + eol, 'latin1'), body]);
}

function one(bytes: Buffer, headers?: Record<string, string>) {
  const parsed = parseRequestFile(bytes, { source: 'f', headers });
  expect(parsed.entries).toHaveLength(1);
  const e = parsed.entries[0];
  if (e.error) throw e.error;
  return { format: parsed.format, request: e.request };
}

function failure(fn: () => unknown): PayError {
  try {
    fn();
  } catch (err) {
    expect(isPayError(err)).toBe(true);
    const e = err as PayError;
    expect(e.code).toBe('INVALID_REQUEST');
    expect(e.exitCode).toBe(2);
    return e;
  }
  throw new Error('expected a PayError');
}

describe('raw HTTP', () => {
  it('reads CRLF files with the body byte-exact, Content-Length honoured', () => {
    const bytes = http(['POST /notify?x=1 HTTP/1.1', 'Host: shop.example', 'Content-Type: application/x-www-form-urlencoded; charset=GBK', `Content-Length: ${BODY.length}`], BODY);
    const { format, request } = one(bytes);
    expect(format).toBe('http');
    expect(request.method).toBe('POST');
    expect(request.target).toBe('/notify?x=1');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=GBK');
    expect(request.headers.host).toBe('shop.example');
    expect(request.body.equals(BODY)).toBe(true);
  });

  it('reads LF files, joins repeated headers and obs-folded lines', () => {
    const bytes = http(['POST / HTTP/1.1', 'X-A: 1', 'x-a: 2', 'X-Long: first', '  second'], Buffer.from('{"a":1}'), '\n');
    const { request } = one(bytes);
    expect(request.headers['x-a']).toBe('1, 2');
    expect(request.headers['x-long']).toBe('first second');
    expect(request.body.toString()).toBe('{"a":1}');
  });

  it('trims only spaces and tabs around names and values, keeps value bytes, and tells names apart by spelling', () => {
    // 0xA0 ends the UTF-8 of "à" (C3 A0): it is part of the value, not white space to trim.
    const head = Buffer.from('POST / HTTP/1.1\r\nX-Name \t: \t caf\xc3\xa0\r\nX-NAME:second\r\nx-other:\t\r\nX-Empty:\r\nX-Fold: a\r\n\t caf\xc3\xa0 \r\n\r\n', 'latin1');
    const { request } = one(Buffer.concat([head, Buffer.from('b')]));
    expect(Buffer.from(request.headers['x-name'], 'latin1').toString('utf8')).toBe('cafà, second');
    expect(request.headers['x-other']).toBe('');
    expect(request.headers['x-empty']).toBe('');
    expect(Buffer.from(request.headers['x-fold'], 'latin1').toString('utf8')).toBe('a cafà');
    expect(Object.keys(request.headers)).toEqual(['x-name', 'x-other', 'x-empty', 'x-fold']);
    // The same spelling again, now invalid (a space inside the name): the name cache must not hide it.
    for (const name of ['X Name', ':x', '']) {
      const bad = Buffer.from(`POST / HTTP/1.1\r\n${name}: v\r\n\r\nb`, 'latin1');
      expect(failure(() => parseRequestFile(bad, { source: 'f' })).message).toMatch(/line 2 .* is not a header/);
    }
  });

  it('keeps a body without Content-Length as is, CR and LF bytes included', () => {
    const body = Buffer.from('line1\r\nline2\n');
    const { request } = one(http(['POST /n HTTP/1.1', 'Content-Type: text/plain'], body));
    expect(request.body.equals(body)).toBe(true);
  });

  it('ignores trailing line ends after a Content-Length body but rejects extra data', () => {
    const ok = Buffer.concat([http(['POST / HTTP/1.1', 'Content-Length: 3'], Buffer.from('abc')), Buffer.from('\r\n')]);
    expect(one(ok).request.body.toString()).toBe('abc');
    const extra = http(['POST / HTTP/1.1', 'Content-Length: 3'], Buffer.from('abcdef'));
    expect(failure(() => parseRequestFile(extra, { source: 'f' })).message).toMatch(/bytes after the 3-byte body/);
  });

  it('decodes a chunked body, with extensions and trailers', () => {
    const chunked = Buffer.concat([
      Buffer.from('5;ext=1\r\n', 'latin1'),
      Buffer.from([0x68, 0x65, 0xff, 0x6c, 0x6f]),
      Buffer.from('\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n', 'latin1'),
    ]);
    const { request } = one(http(['POST / HTTP/1.1', 'Transfer-Encoding: chunked'], chunked));
    expect(request.body.equals(Buffer.from([0x68, 0x65, 0xff, 0x6c, 0x6f, 0x61, 0x62, 0x63]))).toBe(true);
  });

  it('round-trips what pay listen saves (formatRawHttp), chunked or not', () => {
    const raw = ['Content-Type', 'application/json', 'X-Sig', 'abc', 'Transfer-Encoding', 'chunked'];
    const bytes = formatRawHttp({ method: 'POST', target: '/hook', rawHeaders: raw, body: BODY });
    const { request } = one(bytes);
    expect(request.body.equals(BODY)).toBe(true);
    expect(request.headers['x-sig']).toBe('abc');
    const plain = formatRawHttp({ method: 'POST', target: '/hook', rawHeaders: ['Content-Length', String(BODY.length)], body: BODY });
    expect(one(plain).request.body.equals(BODY)).toBe(true);
  });

  it('reports a truncated body (Content-Length and chunked)', () => {
    const cl = http(['POST / HTTP/1.1', 'Content-Length: 100'], Buffer.from('short'));
    expect(failure(() => parseRequestFile(cl, { source: 'f' })).message).toMatch(/truncated: Content-Length says 100 bytes, the file has 5/);
    const ch = http(['POST / HTTP/1.1', 'Transfer-Encoding: chunked'], Buffer.from('a\r\nabc'));
    expect(failure(() => parseRequestFile(ch, { source: 'f' })).message).toMatch(/truncated/);
    const noLast = http(['POST / HTTP/1.1', 'Transfer-Encoding: chunked'], Buffer.from('3\r\nabc\r\n'));
    expect(failure(() => parseRequestFile(noLast, { source: 'f' })).message).toMatch(/truncated/);
  });

  it('reports headers without a body', () => {
    const noBlank = Buffer.from('POST /notify HTTP/1.1\r\nContent-Type: application/json\r\n');
    expect(failure(() => parseRequestFile(noBlank, { source: 'f' })).message).toMatch(/headers without a body/);
    const empty = Buffer.from('POST /notify HTTP/1.1\r\nContent-Type: application/json\r\n\r\n');
    expect(failure(() => parseRequestFile(empty, { source: 'f' })).message).toMatch(/headers without a body/);
    const get = Buffer.from('GET /return HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(failure(() => parseRequestFile(get, { source: 'f' })).message).toMatch(/without a query string/);
  });

  it('reports a line that is not a header', () => {
    const bad = Buffer.from('POST / HTTP/1.1\r\nthis is not a header\r\n\r\nbody');
    expect(failure(() => parseRequestFile(bad, { source: 'f' })).message).toMatch(/line 2 .* is not a header/);
  });

  it('takes a GET return URL with its query in the target', () => {
    const { request } = one(Buffer.from('GET /return?a=1&sign=x%2By HTTP/1.1\r\nHost: shop\r\n\r\n'));
    expect(request.method).toBe('GET');
    expect(request.target).toBe('/return?a=1&sign=x%2By');
    expect(request.body.length).toBe(0);
  });
});

describe('JSON envelope', () => {
  it('reads headers and a string body', () => {
    const body = '{\n  "id": "evt_1",\n  "amount": "中文"\n}';
    const { format, request } = one(Buffer.from(JSON.stringify({ headers: { 'Stripe-Signature': 't=1,v1=ab', 'X-Multi': ['a', 'b'] }, body })));
    expect(format).toBe('envelope');
    expect(request.headers['stripe-signature']).toBe('t=1,v1=ab');
    expect(request.headers['x-multi']).toBe('a, b');
    expect(request.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(request.method).toBe('POST');
  });

  it('reads bodyBase64 byte-exact (non-UTF-8 bytes)', () => {
    const { request } = one(Buffer.from(JSON.stringify({ headers: {}, bodyBase64: BODY.toString('base64') })));
    expect(request.body.equals(BODY)).toBe(true);
  });

  it('reads method, url and query (a return URL)', () => {
    const { request } = one(Buffer.from(JSON.stringify({ url: 'https://shop.example/return?old=1', query: 'a=1&sign=%2B' })));
    expect(request.method).toBe('GET');
    expect(request.target).toBe('/return?a=1&sign=%2B');
    const withMethod = one(Buffer.from(JSON.stringify({ method: 'put', url: '/x', body: 'b' }))).request;
    expect(withMethod.method).toBe('PUT');
    expect(withMethod.target).toBe('/x');
  });

  it('rejects an envelope without a body, an object body, bad base64, both bodies', () => {
    expect(failure(() => parseRequestFile(Buffer.from('{"headers":{"a":"b"}}'), { source: 'f' })).message).toMatch(/headers without a body/);
    expect(failure(() => parseRequestFile(Buffer.from('{"headers":{},"body":{"id":1}}'), { source: 'f' })).hint).toMatch(/re-serialised/);
    expect(failure(() => parseRequestFile(Buffer.from('{"bodyBase64":"***"}'), { source: 'f' })).message).toMatch(/not base64/);
    expect(failure(() => parseRequestFile(Buffer.from('{"body":"a","bodyBase64":"YQ=="}'), { source: 'f' })).message).toMatch(/both/);
  });

  it('treats other JSON as a bare body, kept byte-exact', () => {
    const text = Buffer.from('  {"id":"evt_1","object":"event"}\n');
    const { format, request } = one(text, { 'stripe-signature': 't=1,v1=00' });
    expect(format).toBe('body');
    expect(request.body.equals(text)).toBe(true);
    expect(request.headers['stripe-signature']).toBe('t=1,v1=00');
  });

  it('rejects broken JSON', () => {
    expect(failure(() => parseRequestFile(Buffer.from('{"headers": {'), { source: 'f' })).message).toMatch(/not valid JSON/);
  });
});

describe('HAR', () => {
  const har = (entries: unknown[]) => Buffer.from(JSON.stringify({ log: { version: '1.2', entries } }));
  it('gives one callback per entry, with base64 bodies and per-entry errors', () => {
    const parsed = parseRequestFile(
      har([
        {
          request: {
            method: 'POST',
            url: 'https://shop.example/notify?x=1',
            headers: [{ name: ':authority', value: 'shop' }, { name: 'Content-Type', value: 'application/json' }, { name: 'X-Sig', value: 'v' }],
            postData: { mimeType: 'application/json', text: '{"a":1}' },
          },
        },
        { request: { method: 'POST', url: 'https://shop.example/n', headers: [], postData: { mimeType: 'x', text: BODY.toString('base64'), encoding: 'base64' } } },
        { request: { method: 'POST', url: 'https://shop.example/n', headers: [] } },
      ]),
      { source: 'cap.har' },
    );
    expect(parsed.format).toBe('har');
    expect(parsed.entries).toHaveLength(3);
    const [a, b, c] = parsed.entries;
    expect(a.request?.target).toBe('/notify?x=1');
    expect(a.request?.headers).toEqual({ 'content-type': 'application/json', 'x-sig': 'v' });
    expect(a.request?.source).toBe('cap.har#1');
    expect(b.request?.body.equals(BODY)).toBe(true);
    expect(c.error?.code).toBe('INVALID_REQUEST');
    expect(c.error?.message).toMatch(/cap.har#3: POST request has headers without a body/);
  });

  it('rejects a HAR with no entries', () => {
    expect(failure(() => parseRequestFile(har([]), { source: 'cap.har' })).message).toMatch(/HAR file with no entries/);
    expect(failure(() => parseRequestFile(Buffer.from('{"log":{}}'), { source: 'cap.har' })).message).toMatch(/no log.entries/);
  });
});

describe('return URLs, query strings and bare bodies', () => {
  it('reads a return URL, keeping the query verbatim', () => {
    const { format, request } = one(Buffer.from('https://shop.example/return?a=1&sign=ab%2Bc%3D%3D&b=\n'));
    expect(format).toBe('url');
    expect(request.method).toBe('GET');
    expect(request.target).toBe('/return?a=1&sign=ab%2Bc%3D%3D&b=');
    expect(one(Buffer.from('?a=1&b=2')).request.target).toBe('/?a=1&b=2');
  });

  it('reads a bare form or query string as a form body, line ends dropped, bytes otherwise kept', () => {
    const { format, request } = one(Buffer.from('\ncharset=utf-8&out_trade_no=1&sign=a%2Fb&x=%E4%B8%AD\r\n'));
    expect(format).toBe('body');
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.body.toString('latin1')).toBe('charset=utf-8&out_trade_no=1&sign=a%2Fb&x=%E4%B8%AD');
  });

  it('reads XML as a bare body', () => {
    const xml = Buffer.from('<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>\n');
    const { request } = one(xml);
    expect(request.body.equals(xml)).toBe(true);
    expect(request.headers['content-type']).toBe('text/xml');
  });

  it('reads anything with --header flags as a bare body, byte-exact', () => {
    const bytes = Buffer.from([0x80, 0x81, 0x00, 0xff]);
    const { format, request } = one(bytes, parseHeaderFlags(['X-Sig: abc', 'x-sig: def']));
    expect(format).toBe('body');
    expect(request.body.equals(bytes)).toBe(true);
    expect(request.headers['x-sig']).toBe('abc, def');
  });

  it('lays --header flags over a file’s own headers', () => {
    const bytes = http(['POST / HTTP/1.1', 'X-Sig: old', 'Content-Length: 1'], Buffer.from('a'));
    expect(one(bytes, { 'x-sig': 'new' }).request.headers['x-sig']).toBe('new');
  });

  it('rejects bad --header flags', () => {
    expect(() => parseHeaderFlags(['no colon'])).toThrow(/is not 'Name: value'/);
    expect(() => parseHeaderFlags([': value'])).toThrow(/is not 'Name: value'/);
  });
});

describe('bad input', () => {
  it('rejects an empty file and a whitespace-only file', () => {
    expect(failure(() => parseRequestFile(Buffer.alloc(0), { source: 'e' })).message).toMatch(/e is empty/);
    expect(failure(() => parseRequestFile(Buffer.from(' \r\n\n'), { source: 'e' })).message).toMatch(/only whitespace/);
  });

  it('rejects binary garbage, naming the formats expected', () => {
    const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x13, 0xff, 0xfe, 0x00, 0x01]);
    const e = failure(() => parseRequestFile(garbage, { source: 'g.bin' }));
    expect(e.message).toMatch(/g.bin is binary data/);
    expect(e.hint).toMatch(/raw HTTP request.*JSON envelope.*HAR.*return URL.*--header/);
  });

  it('rejects text that is none of the formats', () => {
    const e = failure(() => parseRequestFile(Buffer.from('hello, this is a note\n'), { source: 'n.txt' }));
    expect(e.message).toMatch(/not a callback file/);
    expect(e.hint).toMatch(/Expected a raw HTTP request/);
  });

  it('reports an unreadable file with its name', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await expect(readRequestFile(join(dir, 'missing.http'), { source: 'missing.http' })).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(/cannot read missing.http \(no such file\)/) });
      writeFileSync(join(dir, 'ok.http'), http(['POST / HTTP/1.1', 'Content-Length: 2'], Buffer.from('ok')));
      const parsed = await readRequestFile(join(dir, 'ok.http'));
      expect(parsed.entries[0].request?.body.toString()).toBe('ok');
      expect(parsed.entries[0].request?.source).toBe(join(dir, 'ok.http'));
    } finally {
      cleanup();
    }
  });
});

