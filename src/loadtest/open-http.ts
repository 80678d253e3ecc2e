/**
 * The `--url` target of `pay loadtest`: a raw HTTP endpoint (method, headers, body) for
 * calibration, refused off this machine without --allow-live.
 */
import { createReadStream } from 'node:fs';
import { invalid, isPayError } from '../core/errors.js';
import { readBody } from '../core/read-body.js';
import { redactText } from '../core/redact.js';
import { isLoopbackHost } from './loopback.js';
import type { LoadtestOptions, Plan } from './options.js';
import type { OpenedTarget } from './target.js';

/** The largest `--body @file` a load test sends (every request carries it). */
export const MAX_BODY_FILE_BYTES = 16 * 1024 * 1024;

/** `--body`: the text itself, or `@file` read from disk (at most {@link MAX_BODY_FILE_BYTES}). */
async function readBodyArg(body: string | undefined): Promise<string | undefined> {
  if (body === undefined) return undefined;
  if (!body.startsWith('@')) return body;
  const path = body.slice(1);
  try {
    const bytes = await readBody(createReadStream(path), {
      maxBytes: MAX_BODY_FILE_BYTES,
      tooLarge: (max) => invalid(`--body file ${path} is larger than ${max.toLocaleString('en')} bytes`, { hint: 'A load-test request body is sent with every request; use a smaller one.' }),
    });
    return bytes.toString('utf8');
  } catch (err) {
    if (isPayError(err)) throw err;
    throw invalid(`cannot read --body file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function parseHeaders(list: string[] | undefined): [string, string][] {
  return (list ?? []).map((h) => {
    const i = h.indexOf(':');
    const name = i > 0 ? h.slice(0, i).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid(`--header "${redactText(h).slice(0, 60)}" is not "name: value"`);
    const value = h.slice(i + 1).trim();
    // Named without its value: it may be a credential.
    if (/[\0\r\n]/.test(value)) throw invalid(`--header ${name} has a line break or NUL in its value`);
    return [name, value] as [string, string];
  });
}

/** Opens the `--url` target after checking the flags that apply to it. */
export async function openHttpTarget(opts: LoadtestOptions, plan: Pick<Plan, 'timeoutMs'>): Promise<OpenedTarget> {
  if (opts.op !== undefined || opts.mix !== undefined || opts.amount !== undefined || opts.currency !== undefined || opts.seedOrders !== undefined) {
    throw invalid('--op, --mix, --amount, --currency and --seed-orders apply to --channel runs, not to --url');
  }
  let url: URL;
  try {
    url = new URL(opts.url!);
  } catch {
    throw invalid(`--url "${redactText(opts.url!).slice(0, 80)}" is not a URL`, { hint: 'e.g. --url http://127.0.0.1:8080/ping' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`--url must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw invalid('--url must not carry credentials', { hint: 'Send them in a header: --header "authorization: ..." (it is redacted from the summary).' });
  const live = !isLoopbackHost(url.hostname);
  if (live && !opts.allowLive) {
    throw invalid(`${url.host} is not on this machine: a load test there hits a live endpoint`, {
      hint: 'Pass --allow-live if that is what you mean (and you are allowed to load it).',
    });
  }
  const body = await readBodyArg(opts.body);
  const method = (opts.method ?? (body !== undefined ? 'POST' : 'GET')).toUpperCase();
  if (!/^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/.test(method)) throw invalid(`--method ${opts.method} is not an HTTP method pay sends`);
  const headers = parseHeaders(opts.header);
  if (body !== undefined && !headers.some(([k]) => k.toLowerCase() === 'content-type') && /^\s*[[{]/.test(body)) headers.push(['content-type', 'application/json']);
  // Plain http goes over bare sockets (the fast path); https through undici's TLS client.
  const targetOptions = { url, method, headers, body, timeoutMs: plan.timeoutMs };
  const target = url.protocol === 'http:' ? new (await import('./socket-target.js')).SocketTarget(targetOptions) : new (await import('./http-target.js')).HttpTarget(targetOptions);
  const { redact } = await import('../core/redact.js');
  return {
    target,
    info: {
      kind: 'http',
      method,
      url: `${url.origin}${url.pathname}`,
      live,
      headers: redact(Object.fromEntries(headers)),
      ...(body !== undefined ? { bodyBytes: Buffer.byteLength(body) } : {}),
    },
    close: () => target.close(),
  };
}
