/**
 * Network failures classified (timeout, dns, refused, reset, unreachable, tls, proxy, aborted)
 * from undici's error codes, each mapped onto a standard PayError whose message says what to check.
 */
import { PayError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

/** Classes of network failure, as they appear in `details.class` of the error. */
export type NetworkFailureClass = 'timeout' | 'dns' | 'refused' | 'reset' | 'unreachable' | 'tls' | 'proxy' | 'aborted' | 'network';

/** `host:port` of an origin. */
export function hostOf(origin: string): string {
  return origin.replace(/^https?:\/\//i, '');
}

/** The error code of a network failure, looking through causes and aggregate errors. */
export function errorCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown; errors?: unknown[]; name?: string } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    // undici wraps the socket's error: prefer the innermost specific code (ECONNRESET over UND_ERR_SOCKET).
    const inner = (e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e;
    const innerCode = inner ? errorCode(inner) : undefined;
    if (innerCode && innerCode !== 'UND_ERR_SOCKET') return innerCode;
    if (typeof e.code === 'string') return e.code;
    if (e.name === 'AbortError') return 'ABORT_ERR';
    e = inner;
  }
  return undefined;
}

/** What a failure message says about the request. */
export interface FailureContext {
  operation: string;
  method: string;
  origin: string;
  attempts: number;
  channel?: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connectTimeoutMs: number;
  proxied: boolean;
}

/** Maps a network failure onto a standard PayError whose message says what to check. */
export function classifyNetworkError(err: unknown, c: FailureContext): PayError {
  if (err instanceof PayError) return err;
  const code = errorCode(err) ?? 'UNKNOWN';
  const host = hostOf(c.origin);
  const what = `${c.operation} (${c.method} ${host})`;
  const base = { channel: c.channel, cause: err };
  const details = (cls: NetworkFailureClass, extra: Record<string, unknown> = {}) => ({ class: cls, errorCode: code, host, attempts: c.attempts, ...extra });
  const unknownOutcome = c.method === 'GET' ? '' : ' The outcome is unknown: query before retrying, and retry with the same number.';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new PayError('TIMEOUT', `${what}: could not connect within ${c.connectTimeoutMs} ms`, {
        ...base,
        details: details('timeout', { phase: 'connect' }),
        hint: `Check that ${host} is reachable from here (firewall, VPN${c.proxied ? ', the proxy in HTTPS_PROXY/HTTP_PROXY' : ''}).`,
      });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new PayError('TIMEOUT', `${what}: no response within ${c.headersTimeoutMs} ms`, {
        ...base,
        details: details('timeout', { phase: 'headers' }),
        hint: `The channel is slow or the request hung.${unknownOutcome}`,
      });
    case 'UND_ERR_BODY_TIMEOUT':
      return new PayError('TIMEOUT', `${what}: the response body stalled for ${c.bodyTimeoutMs} ms`, {
        ...base,
        details: details('timeout', { phase: 'body' }),
        hint: `The channel answered but stopped sending.${unknownOutcome}`,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return new PayError('CHANNEL_ERROR', `${what}: cannot resolve host ${host.replace(/:\d+$/, '')} (${code})`, {
        ...base,
        details: details('dns'),
        hint: "Check the host name in the channel's base URL and this machine's DNS / network connection.",
      });
    case 'ECONNREFUSED':
      return new PayError('CHANNEL_ERROR', `${what}: connection refused by ${host}`, {
        ...base,
        details: details('refused'),
        hint: `Nothing is listening there: check the port in the channel's base URL${/127\.0\.0\.1|localhost|\[::1\]/.test(host) ? ', and that `pay sandbox` is running' : ''}.`,
      });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new PayError('CHANNEL_ERROR', `${what}: the connection was closed before a response (${code})`, {
        ...base,
        details: details('reset'),
        hint: `The channel or something between (proxy, load balancer) dropped the connection.${unknownOutcome}`,
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return new PayError('CHANNEL_ERROR', `${what}: ${host} is unreachable (${code})`, {
        ...base,
        details: details('unreachable'),
        hint: 'Check the network connection, VPN and routes to the channel.',
      });
    case 'ABORT_ERR':
    case 'UND_ERR_ABORTED':
      return new PayError('CHANNEL_ERROR', `${what}: the request was aborted`, { ...base, details: details('aborted') });
    default:
      if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        return new PayError('CHANNEL_ERROR', `${what}: TLS failure (${code})`, {
          ...base,
          details: details('tls'),
          hint: 'Check the URL (http vs https), the system clock and any TLS-intercepting proxy (NODE_EXTRA_CA_CERTS).',
        });
      }
      if (c.proxied && /proxy/i.test((err as Error)?.message ?? '')) {
        return new PayError('CHANNEL_ERROR', `${what}: the proxy refused or failed the request (${redactText((err as Error).message).slice(0, 120)})`, {
          ...base,
          details: details('proxy'),
          hint: 'Check HTTPS_PROXY / HTTP_PROXY (and NO_PROXY for hosts that must not go through it).',
        });
      }
      return new PayError('CHANNEL_ERROR', `${what}: network error (${code}): ${redactText((err as Error)?.message ?? String(err)).slice(0, 160)}`, {
        ...base,
        details: details('network'),
        hint: `Check the network connection and the channel's base URL.${unknownOutcome}`,
      });
  }
}
