/** Callback files in JSON: the envelope `{headers, body}`, HAR logs, and bare JSON bodies. */
import type { RawRequest } from '../channel/contract.js';
import { invalid, isPayError } from '../core/errors.js';
import { addHeader, EXPECTED_FORMATS, withFlags, type ParsedEntry, type ParsedRequestFile } from './request-types.js';

/** A JSON callback file: an envelope {headers, body} (or bodyBase64), a HAR log, or a bare JSON body. */
export function parseJsonFile(bytes: Buffer, start: number, source: string, flagHeaders: Record<string, string>, owned: boolean): ParsedRequestFile {
  const text = bytes.toString('utf8', start);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(`${source} starts like JSON but is not valid JSON (${(err as Error).message})`, {
      hint: `Expected ${EXPECTED_FORMATS}.`,
    });
  }
  const o = json as Record<string, unknown>;
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    if ('log' in o) return { format: 'har', entries: parseHar(o.log, source, flagHeaders) };
    if ('headers' in o || 'body' in o || 'bodyBase64' in o || 'query' in o) {
      return { format: 'envelope', entries: [{ request: withFlags(parseEnvelope(o, source), flagHeaders) }] };
    }
  }
  // Any other JSON is a bare body (a Stripe event saved alone, an Alipay sync response); its
  // headers, if the scheme has any, come from --header.
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  return { format: 'body', entries: [{ request: withFlags({ method: 'POST', headers, body: owned ? bytes : Buffer.from(bytes), source }, flagHeaders) }] };
}

function headerObject(raw: unknown, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  const put = (name: unknown, value: unknown) => {
    if (typeof name !== 'string' || name === '') throw invalid(`${where}: a header has no name`);
    // HTTP/2 pseudo-headers (:authority, :path) are not headers of the request as signed.
    if (name.startsWith(':')) return;
    if (Array.isArray(value)) for (const v of value) put(name, v);
    else if (typeof value === 'string' || typeof value === 'number') addHeader(out, name, String(value));
    else throw invalid(`${where}: header ${name.slice(0, 40)} must be a string`);
  };
  if (Array.isArray(raw)) {
    for (const h of raw) put((h as { name?: unknown })?.name, (h as { value?: unknown })?.value);
  } else if (typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) put(k, v);
  } else throw invalid(`${where}: "headers" must be an object of name -> value`);
  return out;
}

function targetOf(url: unknown, where: string): string | undefined {
  if (url === undefined || url === null || url === '') return undefined;
  if (typeof url !== 'string') throw invalid(`${where}: "url" must be a string`);
  if (/^https?:\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw invalid(`${where}: "url" ${url.slice(0, 60)} is not a URL`);
    }
    const q = url.indexOf('?');
    return u.pathname + (q >= 0 ? url.slice(q).replace(/#.*$/, '') : '');
  }
  return url;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parseEnvelope(o: Record<string, unknown>, source: string): RawRequest {
  const where = `${source} (JSON envelope)`;
  const headers = headerObject(o.headers, where);
  if (o.body !== undefined && o.bodyBase64 !== undefined) throw invalid(`${where} has both "body" and "bodyBase64"; keep one`);
  let body: Buffer | undefined;
  if (typeof o.body === 'string') body = Buffer.from(o.body, 'utf8');
  else if (o.body !== undefined && o.body !== null) {
    throw invalid(`${where}: "body" must be the raw body as a string, not ${Array.isArray(o.body) ? 'an array' : typeof o.body}`, {
      hint: 'A re-serialised object is not what was signed: paste the body exactly as received, as a JSON string (or base64 in "bodyBase64").',
    });
  }
  if (o.bodyBase64 !== undefined) {
    const b64 = typeof o.bodyBase64 === 'string' ? o.bodyBase64.replace(/\s+/g, '') : undefined;
    if (b64 === undefined || !BASE64.test(b64) || b64.length % 4 === 1) throw invalid(`${where}: "bodyBase64" is not base64`);
    body = Buffer.from(b64, 'base64');
  }
  let target = targetOf(o.url, where);
  if (o.query !== undefined && o.query !== null) {
    if (typeof o.query !== 'string') throw invalid(`${where}: "query" must be the query string as received`);
    const q = o.query.replace(/^\?/, '');
    target = `${(target ?? '/').replace(/\?.*$/, '')}?${q}`;
  }
  if (o.method !== undefined && typeof o.method !== 'string') throw invalid(`${where}: "method" must be a string`);
  const hasQuery = target !== undefined && /\?./.test(target);
  if ((body === undefined || body.length === 0) && !hasQuery) {
    throw invalid(`${where} has headers without a body: give "body" (the raw body as a string), "bodyBase64", or "query" for a return URL`);
  }
  const method = (o.method as string | undefined)?.toUpperCase() ?? (body && body.length ? 'POST' : 'GET');
  const req: RawRequest = { method, headers, body: body ?? Buffer.alloc(0), source };
  if (target !== undefined) req.target = target;
  return req;
}

function parseHar(log: unknown, source: string, flagHeaders: Record<string, string>): ParsedEntry[] {
  const entries = (log as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw invalid(`${source} looks like a HAR file but has no log.entries list`);
  if (entries.length === 0) {
    throw invalid(`${source} is a HAR file with no entries: there is no callback in it`, {
      hint: 'Export the HAR again with the callback requests recorded.',
    });
  }
  return entries.map((entry, i) => {
    const where = `${source}#${i + 1}`;
    try {
      return { request: withFlags(harRequest(entry, where), flagHeaders) };
    } catch (err) {
      if (isPayError(err)) return { error: err };
      throw err;
    }
  });
}

function harRequest(entry: unknown, where: string): RawRequest {
  const r = (entry as { request?: Record<string, unknown> } | null)?.request;
  if (!r || typeof r !== 'object') throw invalid(`${where}: HAR entry has no request`);
  const method = typeof r.method === 'string' ? r.method.toUpperCase() : 'POST';
  const target = targetOf(r.url, where);
  const headers = headerObject(r.headers, where);
  const post = r.postData as { text?: unknown; encoding?: unknown; params?: unknown } | undefined;
  let body = Buffer.alloc(0);
  if (post && typeof post === 'object') {
    if (typeof post.text === 'string') {
      if (post.encoding === 'base64') {
        const b64 = post.text.replace(/\s+/g, '');
        if (!BASE64.test(b64)) throw invalid(`${where}: postData.text is marked base64 but is not`);
        body = Buffer.from(b64, 'base64');
      } else body = Buffer.from(post.text, 'utf8');
    } else if (post.params !== undefined) {
      throw invalid(`${where}: postData has params but no text, so the raw body is not in the file`, {
        hint: 'Export the HAR with request bodies included (the raw text is what was signed).',
      });
    }
  }
  const hasQuery = target !== undefined && /\?./.test(target);
  if (body.length === 0 && !hasQuery) {
    throw invalid(`${where}: ${method} request has headers without a body (no postData.text)`, {
      hint: 'Export the HAR with request bodies included.',
    });
  }
  const req: RawRequest = { method, headers, body, source: where };
  if (target !== undefined) req.target = target;
  return req;
}
