/**
 * What the channels' callback modules share: the dedup key of a callback that names no event id,
 * the JSON replies a webhook receiver answers with, reading a body as JSON, and the builder of a
 * signed JSON callback as its sender POSTs it (the simulators and tests sign with each channel's
 * own scheme; the exact bytes built here are what is signed).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { HttpReply, RawRequest } from './contract.js';

/** The dedup key of a callback by its bytes (`sha256:<hex>`), for bodies that carry no usable id. */
export function bodyDedupKey(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** 200 `{"received":true}`: what pay answers a JSON webhook it accepts (mock, Stripe). */
export const JSON_RECEIVED_REPLY: HttpReply = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":true}' };

/** 400 `{"error": message}`: what pay answers a JSON webhook it refuses, so the sender retries. */
export function jsonErrorReply(message: string): HttpReply {
  return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: message }) };
}

/** The body parsed as JSON (`{ json }`), or `'body is not JSON'`. */
export function parseJsonBody(body: Buffer): { json: unknown } | string {
  try {
    return { json: JSON.parse(body.toString('utf8')) };
  } catch {
    return 'body is not JSON';
  }
}

/** A fresh Stripe-style event id: `evt_` and 24 hex digits. */
export function newEventId(): string {
  return `evt_${randomBytes(12).toString('hex')}`;
}

/** What {@link buildJsonCallback} needs. */
export interface JsonCallbackOptions {
  /** The event, serialised as the sender does (`indent`: Stripe pretty-prints). */
  event: object;
  indent?: number;
  /** The request target (path) the receiver is posted at. */
  target: string;
  /** The sender's own headers (content type, user agent), in the order it sends them. */
  headers: Record<string, string>;
  /** The headers that sign the body's exact bytes, in the channel's scheme. */
  sign(body: Buffer): Record<string, string>;
}

/** A signed JSON callback as its sender POSTs it. */
export function buildJsonCallback(o: JsonCallbackOptions): RawRequest {
  const body = Buffer.from(JSON.stringify(o.event, null, o.indent), 'utf8');
  return { method: 'POST', target: o.target, headers: { ...o.headers, ...o.sign(body) }, body };
}
