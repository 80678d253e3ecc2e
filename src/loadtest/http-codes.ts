/**
 * How the raw HTTP targets name a failure: an HTTP status or a network error mapped onto a
 * standard error code. Shared by the socket target and the undici (https) one.
 */
import { PayError } from '../core/errors.js';
import type { SendError, Target } from './target.js';

/** Maps an HTTP status that is not a success onto a standard code. */
export function codeForStatus(status: number): string | undefined {
  if (status < 400) return undefined;
  if (status === 401 || status === 403) return 'AUTHENTICATION_FAILED';
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'SYSTEM_ERROR';
  return 'INVALID_REQUEST';
}

/** Maps a network failure (undici or socket error) onto a standard code. */
export function codeForNetworkError(err: unknown): SendError {
  const e = err as { code?: string; message?: string; name?: string };
  const code = e?.code ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return { code: 'TIMEOUT', message: `${code}: ${e.message ?? 'timed out'}` };
  }
  return { code: 'CHANNEL_ERROR', message: `${code || e?.name || 'Error'}: ${e?.message ?? String(err)}` };
}

/**
 * One request before the clock starts: an unreachable endpoint is a clear error (exit 3), not a
 * run full of failures. An HTTP answer, whatever its status, means the endpoint is there.
 */
export async function probe(target: Pick<Target, 'send'>, origin: string): Promise<void> {
  const error = await new Promise<SendError | undefined>((resolve) => target.send(resolve));
  if (error && error.httpStatus === undefined) {
    throw new PayError(error.code === 'TIMEOUT' ? 'TIMEOUT' : 'CHANNEL_ERROR', `cannot reach ${origin}: ${error.message}`, {
      hint: 'Check that the server is running and the URL (host, port, http/https) is right.',
    });
  }
}

/** `{ "200": n, ... }` in status order from `[status, count]` pairs (zero counts left out). */
export function statusDetails(counts: Iterable<[number, number]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [s, n] of [...counts].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0])) out[String(s)] = n;
  return out;
}
