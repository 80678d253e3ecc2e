/** What the shared HTTP client writes about a call: URLs and body excerpts with secrets masked. */
import { MASK, redactText, SECRET_FIELD } from '../core/redact.js';

/** Query parameters whose values never reach a record (signatures are not secret, but noisy). */
const URL_SECRET_PARAM = /^(sign|signature|sig|key|token)$/i;

/** The URL for logs: query values of secret-looking parameters masked, registered secrets removed. */
export function safeUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactText(url);
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const parts = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      /* keep the raw name */
    }
    return SECRET_FIELD.test(name) || URL_SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=${encodeURIComponent(MASK)}` : pair;
  });
  return redactText(`${url.slice(0, q)}?${parts.join('&')}`);
}

/** The first `max` characters of a body, for error messages (redacted, control characters shown as spaces). */
export function bodyExcerpt(body: Buffer | string, max = 200): string {
  const text = (typeof body === 'string' ? body : body.subarray(0, max * 4).toString('utf8')).slice(0, max);
  return redactText(text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ')) + ((typeof body === 'string' ? body.length : body.length) > max ? '…' : '');
}

