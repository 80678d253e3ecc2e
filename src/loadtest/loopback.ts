/** Where a load test points: this machine (free to load) or a live endpoint (needs --allow-live). */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True when `host` is this machine's loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h.endsWith('.localhost');
}

/** Config keys that hold a channel's API base URL. */
const BASE_URL_KEYS = ['baseUrl', 'gateway', 'endpoint', 'apiBase', 'url'];

/** The base URL a channel's validated config points at (undefined when it has none). */
export function channelBaseUrl(config: Record<string, unknown>): string | undefined {
  for (const k of BASE_URL_KEYS) if (typeof config[k] === 'string' && config[k]) return config[k] as string;
  return undefined;
}
