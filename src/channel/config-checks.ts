/**
 * Checks channels' `validateConfig` functions share: URLs and IANA time zones. Each throws a
 * CONFIG_ERROR naming the field (`where`, e.g. `channels.stripe.baseUrl`), never its value.
 */
import { configError } from '../core/errors.js';
import { zoneOffsetMinutes } from '../core/time.js';

/**
 * Checks that `value` is an absolute http(s) URL. `base` (the default, for origins and base URLs
 * that paths are appended to) returns it normalised without trailing slashes; `as-given` returns
 * the text as configured (callback URLs handed to the provider verbatim).
 */
export function checkUrl(value: unknown, where: string, form: 'base' | 'as-given' = 'base'): string {
  if (typeof value !== 'string' || value.trim() === '') throw configError(`${where} must be an absolute http(s) URL`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw configError(`${where} is not a URL`, { hint: 'Give an absolute http(s) URL.' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw configError(`${where} must be an http(s) URL`);
  return form === 'base' ? url.toString().replace(/\/+$/, '') : value.trim();
}

/** Checks that `value` is an absolute http(s) URL; returns it normalised, without a trailing slash. */
export function checkBaseUrl(value: unknown, where: string): string {
  return checkUrl(value, where, 'base');
}

/** Checks an IANA time zone name; returns it trimmed. */
export function checkTimeZone(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw configError(`${where} must be an IANA time zone such as UTC or America/New_York`);
  try {
    zoneOffsetMinutes(value.trim(), 0);
  } catch {
    throw configError(`${where} is not a known IANA time zone`);
  }
  return value.trim();
}
