/**
 * The WeChat Pay API v3 wire protocol: request signing, response signature checks (every 2xx
 * answer must carry a valid Wechatpay-* signature, or it is not trusted), platform certificates
 * (downloaded from GET /v3/certificates and decrypted with the APIv3 key, or the configured WeChat
 * Pay public key), error bodies `{code, message}` mapped onto the standard codes (the raw code
 * kept in `providerCode`), and the provider's status words mapped onto pay's.
 *
 * Like the official SDKs, non-2xx answers are not signature-checked: they are errors either way,
 * and an unsigned error can never be taken for a success.
 *
 * Wire shapes, status words and amount conversion live in wire.ts; error mapping in errors.ts.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChannelCallRecord } from '../../src/channel/contract.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/channel/http-client.js';
import { configError, PayError } from '../../src/core/errors.js';
import { type Clock } from '../../src/core/time.js';
import type { WechatpayConfig } from './config.js';
import { buildAuthorization, certificatesFrom, gcmDecrypt, keyFromCertificate, nonce as makeNonce, normalizeSerial, verifyV3, type PlatformKey } from './signature.js';
import { errorFromResponse, excerpt, signatureError } from './errors.js';
import { type WireCertificates } from './wire.js';

export * from './wire.js';
export { errorFromResponse, excerpt } from './errors.js';

// ---------------------------------------------------------------------------------------------
// The client

/** One API call. */
export interface CallSpec {
  /** Contract operation for logs (`collect`, `queryRefund`...). */
  operation: string;
  method: 'GET' | 'POST';
  /** Path and query below the base URL (`/v3/pay/transactions/native`). */
  path: string;
  /** JSON body (POST). */
  body?: unknown;
  idempotent: boolean;
  orderNo?: string;
  refundNo?: string;
  /** Extra headers (`Wechatpay-Serial` when a field is encrypted). */
  headers?: Record<string, string>;
  /** Skip the response signature check (only the bill download, which WeChat does not sign). */
  unsigned?: boolean;
  /** Absolute URL instead of baseUrl + path (the bill download_url). */
  absoluteUrl?: string;
  /** Stream a 2xx body to this file. */
  saveTo?: string;
}

/** A checked 2xx answer. */
export interface CallResult<T> {
  status: number;
  /** Parsed JSON; undefined for 204 and unsigned downloads. */
  data: T | undefined;
  headers: Record<string, string>;
  body: Buffer;
  requestId?: string;
}

/** What the client needs from its adapter. */
export interface ClientDeps {
  http(): Promise<HttpClient>;
  clock: Clock;
  record(entry: ChannelCallRecord): void;
  /** Where downloaded platform certificates are cached between runs (public data). */
  stateDir?: string;
  debug?(message: string): void;
}

const CERT_CACHE_MAX_AGE_MS = 12 * 3600_000;

/** Fields of a request body kept out of the event log (personal data; encrypted anyway). */
const UNLOGGED_FIELDS = new Set(['user_name', 'payer', 'scene_info']);

function summarize(body: unknown): unknown {
  if (!body || typeof body !== 'object') return undefined;
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k]) => !UNLOGGED_FIELDS.has(k)));
}

/** Configured keys first, then others whose serial they do not have. */
function mergeKeys(first: PlatformKey[], second: PlatformKey[]): PlatformKey[] {
  const seen = new Set(first.map((k) => k.serial));
  return [...first, ...second.filter((k) => !seen.has(k.serial))];
}

/** Signs, sends and checks WeChat Pay API v3 calls for one merchant. */
export class WechatpayClient {
  private downloaded?: { keys: PlatformKey[]; fetchedAt: number };
  private downloading?: Promise<PlatformKey[]>;
  private cacheRead = false;

  constructor(
    readonly config: WechatpayConfig,
    private readonly deps: ClientDeps,
  ) {}

  /**
   * True in certificate mode (no WeChat Pay public key configured): platform certificates may be
   * downloaded from GET /v3/certificates. Configured certificates are used first; a serial they do
   * not know (a rotation) triggers a download.
   */
  get downloadsCertificates(): boolean {
    return !this.config.platformKeys.some((k) => k.kind === 'publicKey');
  }

  private origin(): string {
    return new URL(this.config.baseUrl).origin;
  }

  /** Sends one call and returns the checked answer; throws a PayError otherwise. */
  async call<T>(spec: CallSpec): Promise<CallResult<T>> {
    const started = performance.now();
    const url = spec.absoluteUrl ?? `${this.config.baseUrl}${spec.path}`;
    const target = new URL(url);
    const bodyText = spec.body === undefined ? '' : JSON.stringify(spec.body);
    const record: ChannelCallRecord = {
      operation: `wechatpay.${spec.operation}`,
      orderNo: spec.orderNo,
      refundNo: spec.refundNo,
      request: { method: spec.method, path: target.pathname, body: summarize(spec.body) },
      durationMs: 0,
    };
    let res: HttpResponse | undefined;
    try {
      const timestamp = Math.floor(this.deps.clock() / 1000);
      const headers: Record<string, string> = {
        accept: 'application/json',
        // WeChat Pay rejects requests without a User-Agent.
        'user-agent': 'pay-cli (wechatpay)',
        authorization: buildAuthorization({
          mchId: this.config.mchId,
          serialNo: this.config.serialNo,
          privateKey: this.config.privateKey,
          method: spec.method,
          url: `${target.pathname}${target.search}`,
          body: bodyText,
          timestamp,
          nonce: makeNonce(),
        }),
        ...(spec.headers ?? {}),
      };
      if (spec.method === 'POST') headers['content-type'] = 'application/json';
      const http = await this.deps.http();
      const req: HttpRequest = {
        method: spec.method,
        url,
        headers,
        idempotent: spec.idempotent,
        operation: `wechatpay.${spec.operation}`,
        orderNo: spec.orderNo,
        refundNo: spec.refundNo,
      };
      if (spec.method === 'POST') req.body = bodyText;
      if (spec.saveTo) req.saveTo = spec.saveTo;
      res = await http.request(req);
      record.httpStatus = res.status;
      record.attempts = res.attempts;
      const requestId = res.headers['request-id'];
      record.requestId = requestId;
      if (res.status < 200 || res.status >= 300) throw errorFromResponse(res.status, res.body, spec.operation, requestId);
      // A body no parser accepts is reported as such (with an excerpt) before its signature is
      // checked: either way it is rejected, and "not JSON" says more than "bad signature".
      let data: T | undefined;
      if (!spec.unsigned && res.body.length > 0) {
        try {
          data = JSON.parse(res.body.toString('utf8')) as T;
        } catch {
          throw new PayError('CHANNEL_ERROR', `WeChat Pay answered ${spec.operation} with a body that is not JSON: ${excerpt(res.body)}`, {
            channel: 'wechatpay',
            httpStatus: res.status,
            requestId,
            hint: 'The outcome is unknown: run `pay query` later.',
          });
        }
        if (!data || typeof data !== 'object') {
          throw new PayError('CHANNEL_ERROR', `WeChat Pay answered ${spec.operation} with JSON that is not an object: ${excerpt(res.body)}`, { channel: 'wechatpay', httpStatus: res.status, requestId });
        }
      }
      if (!spec.unsigned) await this.verifyResponse(res, spec.operation);
      record.response = data ?? { status: res.status };
      return { status: res.status, data, headers: res.headers, body: res.body, requestId };
    } catch (err) {
      const e = err as PayError;
      record.error = { code: e.code ?? 'SYSTEM_ERROR', message: e.message, providerCode: e.providerCode };
      throw err;
    } finally {
      record.durationMs = performance.now() - started;
      this.deps.record(record);
    }
  }

  /** Checks a 2xx answer's signature; downloads or refreshes platform certificates as needed. */
  async verifyResponse(res: Pick<HttpResponse, 'headers' | 'body'>, operation: string): Promise<void> {
    const now = this.deps.clock();
    let keys = await this.platformKeys();
    let check = verifyV3(res.headers, res.body, { keys }, now);
    // A serial we have not seen means WeChat Pay rotated its certificate: fetch the new set once.
    if (!check.ok && check.reason === 'UNKNOWN_KEY' && this.downloadsCertificates) {
      keys = await this.platformKeys(true);
      check = verifyV3(res.headers, res.body, { keys }, now);
    }
    if (!check.ok) throw signatureError(check, operation);
  }

  /**
   * The platform keys: the configured ones, plus in certificate mode those downloaded (cached in
   * memory and in the state dir). `refresh` downloads again.
   */
  async platformKeys(refresh = false): Promise<PlatformKey[]> {
    const configured = this.config.platformKeys;
    if (!this.downloadsCertificates) return configured;
    const now = this.deps.clock();
    if (!refresh) {
      if (this.downloaded && now - this.downloaded.fetchedAt < CERT_CACHE_MAX_AGE_MS) return mergeKeys(configured, this.downloaded.keys);
      if (!this.downloaded && !this.cacheRead) {
        // Once per client: a missing cache file is not looked for again on every call.
        this.cacheRead = true;
        const cached = await this.readCache(now);
        if (cached) {
          this.downloaded = cached;
          return mergeKeys(configured, cached.keys);
        }
      }
      // Configured certificates suffice until an answer names one they do not know.
      if (!this.downloaded && configured.length) return configured;
    }
    this.downloading ??= this.downloadCertificates().finally(() => {
      this.downloading = undefined;
    });
    return mergeKeys(configured, await this.downloading);
  }

  /** A key to encrypt sensitive fields with, and its serial (for the Wechatpay-Serial header). */
  async encryptionKey(): Promise<PlatformKey & { serial: string }> {
    const now = this.deps.clock();
    const usable = (await this.platformKeys()).filter((k) => k.serial && (k.notAfter === undefined || k.notAfter > now) && (k.notBefore === undefined || k.notBefore <= now));
    // The newest certificate (latest expiry) is the one WeChat Pay expects during a rotation.
    usable.sort((a, b) => (b.notAfter ?? Infinity) - (a.notAfter ?? Infinity));
    const k = usable[0];
    if (!k) throw new PayError('SIGNATURE_INVALID', 'no valid WeChat Pay platform key to encrypt the payee name with', { channel: 'wechatpay' });
    return k as PlatformKey & { serial: string };
  }

  private cachePath(): string | undefined {
    if (!this.deps.stateDir) return undefined;
    const id = createHash('sha256').update(`${this.config.baseUrl}|${this.config.mchId}`).digest('hex').slice(0, 16);
    return join(this.deps.stateDir, `platform-certificates-${id}.json`);
  }

  private async readCache(now: number): Promise<{ keys: PlatformKey[]; fetchedAt: number } | undefined> {
    const path = this.cachePath();
    if (!path) return undefined;
    try {
      const j = JSON.parse(await readFile(path, 'utf8')) as { fetchedAt: number; certificates: string[] };
      if (typeof j.fetchedAt !== 'number' || now - j.fetchedAt >= CERT_CACHE_MAX_AGE_MS || !Array.isArray(j.certificates)) return undefined;
      const keys = j.certificates.flatMap((pem) => certificatesFrom(pem).map(keyFromCertificate));
      return keys.length ? { keys, fetchedAt: j.fetchedAt } : undefined;
    } catch {
      return undefined;
    }
  }

  private async writeCache(pems: string[], fetchedAt: number): Promise<void> {
    const path = this.cachePath();
    if (!path) return;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify({ fetchedAt, certificates: pems }));
    } catch (err) {
      this.deps.debug?.(`could not cache WeChat Pay platform certificates: ${(err as Error).message}`);
    }
  }

  /**
   * GET /v3/certificates: decrypts each certificate with the APIv3 key, then checks the answer's
   * own signature with the certificate it names (the bootstrap the official SDKs use).
   */
  private async downloadCertificates(): Promise<PlatformKey[]> {
    const res = await this.call<WireCertificates>({ operation: 'certificates', method: 'GET', path: '/v3/certificates', idempotent: true, unsigned: true });
    let parsed: WireCertificates;
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as WireCertificates;
    } catch {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay answered GET /v3/certificates with a body that is not JSON: ${excerpt(res.body)}`, { channel: 'wechatpay' });
    }
    if (!parsed || !Array.isArray(parsed.data) || parsed.data.length === 0) {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay answered GET /v3/certificates without certificates: ${excerpt(res.body)}`, { channel: 'wechatpay' });
    }
    const pems: string[] = [];
    const keys: PlatformKey[] = [];
    for (const item of parsed.data) {
      const enc = item.encrypt_certificate;
      let pem: string;
      try {
        pem = gcmDecrypt(enc.ciphertext, this.config.apiV3Key, enc.nonce, enc.associated_data ?? '').toString('utf8');
      } catch {
        throw configError('channels.wechatpay.apiV3Key does not decrypt the platform certificates WeChat Pay sent', {
          hint: 'Check the APIv3 key (API Security in the merchant platform); it is not the APIv2 key.',
        });
      }
      const [cert] = certificatesFrom(pem);
      if (!cert) throw new PayError('CHANNEL_ERROR', `platform certificate ${item.serial_no} did not decrypt to a certificate`, { channel: 'wechatpay' });
      const key = keyFromCertificate(cert);
      if (key.serial !== normalizeSerial(item.serial_no)) {
        throw new PayError('SIGNATURE_INVALID', `platform certificate listed as ${item.serial_no} has serial ${key.serial}`, { channel: 'wechatpay' });
      }
      pems.push(pem);
      keys.push(key);
    }
    const check = verifyV3(res.headers, res.body, { keys }, this.deps.clock());
    if (!check.ok) throw signatureError(check, 'GET /v3/certificates');
    const fetchedAt = this.deps.clock();
    this.downloaded = { keys, fetchedAt };
    await this.writeCache(pems, fetchedAt);
    return keys;
  }

  /** Origin check for absolute URLs WeChat Pay hands out (the signed header must not leak elsewhere). */
  assertSameOrigin(url: string, what: string): void {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay sent a ${what} that is not a URL: ${excerpt(url)}`, { channel: 'wechatpay' });
    }
    if (u.origin !== this.origin()) {
      throw new PayError('CHANNEL_ERROR', `WeChat Pay sent a ${what} on ${u.origin}, not ${this.origin()}; refusing to send a signed request there`, { channel: 'wechatpay' });
    }
  }
}

