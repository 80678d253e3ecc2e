/**
 * "testpay": a small, test-only payment protocol used to prove the sandbox framework and the
 * shared contract/fault suites before (and beside) the real channels. It is a real protocol, not a
 * stub: JSON over HTTP, Bearer API key, answers and notifications signed with Ed25519 over
 * `<unix seconds>.<raw body>` in a `testpay-signature: t=<ts>,s=<base64>` header.
 *
 * Plain ESM JavaScript so the built `pay` binary can load the channel by path (`channels.testpay
 * .module`); shared code comes from the compiled project in dist/ (run `npm run build` first).
 */
import { createPublicKey, sign, verify } from 'node:crypto';

/** Header carrying answer and notification signatures. */
export const SIGNATURE_HEADER = 'testpay-signature';

/** Freshness window for notifications, seconds. */
export const NOTIFY_TOLERANCE_SEC = 300;

/** Business time zone of testpay bills. */
export const TIME_ZONE = 'Asia/Shanghai';

/** Signs a body: the header value. */
export function signBody(privateKey, body, nowMs) {
  const t = Math.floor(nowMs / 1000);
  const s = sign(null, Buffer.concat([Buffer.from(`${t}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]), privateKey).toString('base64');
  return `t=${t},s=${s}`;
}

/**
 * Checks a signature header over `body` with a PEM (or KeyObject) public key. Returns { ok: true, t } or { ok: false, reason, message }.
 * `toleranceSec` (optional) bounds |at - t|.
 */
export function verifyBody(publicKeyPem, header, body, at, toleranceSec) {
  if (!header) return { ok: false, reason: 'BAD_SIGNATURE', message: `no ${SIGNATURE_HEADER} header` };
  const parts = Object.fromEntries(
    String(header)
      .split(',')
      .map((p) => {
        const i = p.indexOf('=');
        return i < 0 ? [p.trim(), ''] : [p.slice(0, i).trim(), p.slice(i + 1).trim()];
      }),
  );
  if (!/^\d+$/.test(parts.t ?? '') || !parts.s) return { ok: false, reason: 'MALFORMED', message: `${SIGNATURE_HEADER} is not t=<seconds>,s=<base64>` };
  let key = publicKeyPem;
  try {
    // A KeyObject is used as is (adapters parse the PEM once: parsing costs more than verifying).
    if (typeof key === 'string') key = createPublicKey(publicKeyPem);
  } catch {
    return { ok: false, reason: 'MISSING_KEY', message: 'platformPublicKey is not a public key' };
  }
  const good = verify(null, Buffer.concat([Buffer.from(`${parts.t}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]), key, Buffer.from(parts.s, 'base64'));
  if (!good) return { ok: false, reason: 'BAD_SIGNATURE', message: 'signature does not match the body' };
  const t = Number(parts.t);
  if (toleranceSec !== undefined && Math.abs(at / 1000 - t) > toleranceSec) {
    return { ok: false, reason: 'EXPIRED', message: `signed at ${new Date(t * 1000).toISOString()}, more than ${toleranceSec} s from ${new Date(at).toISOString()}` };
  }
  return { ok: true, t };
}

/** Wire status words -> pay statuses. */
export const ORDER_STATUS = { WAITING: 'pending', PAID: 'succeeded', FAILED: 'failed', CLOSED: 'closed' };
export const MOVE_STATUS = { PROCESSING: 'pending', SUCCESS: 'succeeded', FAILED: 'failed' };
