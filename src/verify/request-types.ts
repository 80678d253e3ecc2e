/** What reading a callback file produces, and the `--header` flags laid over it. */
import type { RawRequest } from '../channel/contract.js';
import { invalid, type PayError } from '../core/errors.js';

/** Which format a file was read as. */
export type RequestFileFormat = 'http' | 'envelope' | 'har' | 'url' | 'body';

/** One callback read from a file: a request, or why that entry (HAR) could not be read. */
export type ParsedEntry = { request: RawRequest; error?: undefined } | { request?: undefined; error: PayError };

/** What a file held. */
export interface ParsedRequestFile {
  format: RequestFileFormat;
  /** One per callback: one for most files, one per entry for HAR. */
  entries: ParsedEntry[];
}

/** Options for {@link parseRequestFile}. */
export interface ParseRequestOptions {
  /** Name of the file, for messages and `RawRequest.source`. */
  source?: string;
  /** Headers from `--header` flags (names lowercased), laid over the file's own. */
  headers?: Record<string, string>;
  /**
   * Known to be a regular file (listed in a directory): it ends at the first short read, so one
   * read() does instead of two. Pipes and /dev/fd paths are read to EOF.
   */
  regular?: boolean;
}

/** The formats, as named in every "not a callback file" message. */
export const EXPECTED_FORMATS =
  'a raw HTTP request (request line, headers, blank line, body), a JSON envelope {"headers": {...}, "body": "..."} (or "bodyBase64"), a HAR file, a GET return URL or query string, or a bare body with --header \'Name: value\'';

/** An HTTP header name (RFC 9110 token). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;


/** Parses `--header 'Name: value'` flags; repeated names are joined with ", " as HTTP does. */
export function parseHeaderFlags(flags: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags ?? []) {
    const colon = flag.indexOf(':');
    const name = colon > 0 ? flag.slice(0, colon).trim() : '';
    if (!TOKEN.test(name)) {
      throw invalid(`--header "${flag.slice(0, 60)}" is not 'Name: value'`, {
        hint: "Write each header as --header 'Stripe-Signature: t=...,v1=...'.",
      });
    }
    addHeader(out, name, flag.slice(colon + 1).trim());
  }
  return out;
}

/** Adds a header (name lowercased), joining a repeated one with ", ". */
export function addHeader(headers: Record<string, string>, name: string, value: string): void {
  addLowerHeader(headers, name.toLowerCase(), value);
}

/** Adds a header whose name is already lowercase. */
export function addLowerHeader(headers: Record<string, string>, key: string, value: string): void {
  headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
}

/** The request with `--header` flags laid over its own headers. */
export function withFlags(request: RawRequest, flags: Record<string, string>): RawRequest {
  if (Object.keys(flags).length === 0) return request;
  return { ...request, headers: { ...request.headers, ...flags } };
}
