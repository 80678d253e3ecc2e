/**
 * Finds channel modules (built in by id, or third-party by path), checks them against the
 * contract, validates their config before any call, and creates adapters with their deps.
 * Adding a built-in channel is one line in {@link BUILTIN}.
 */
import { mkdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { channelSettings, configBaseDir, resolveSettings, type LoadedConfig } from '../core/config.js';
import { configError, invalid, isPayError, PayError } from '../core/errors.js';
import { registerSecret, SECRET_FIELD } from '../core/redact.js';
import type { Clock } from '../core/time.js';
import { ALL_CAPABILITIES, type ChannelAdapter, type ChannelCallRecord, type ChannelDeps, type ChannelModule } from './contract.js';
import type { HttpClient } from './http-client.js';

type Loader = () => Promise<{ default: ChannelModule }>;

/** Built-in channels, each loaded only when used. */
const BUILTIN: Record<string, Loader> = {
  mock: () => import('../../channels/mock/index.js') as Promise<{ default: ChannelModule }>,
  alipay: () => import('../../channels/alipay/index.js') as Promise<{ default: ChannelModule }>,
  wechatpay: () => import('../../channels/wechatpay/index.js') as Promise<{ default: ChannelModule }>,
  unionpay: () => import('../../channels/unionpay/index.js') as Promise<{ default: ChannelModule }>,
  stripe: () => import('../../channels/stripe/index.js') as Promise<{ default: ChannelModule }>,
  paypal: () => import('../../channels/paypal/index.js') as Promise<{ default: ChannelModule }>,
};

/** Ids of the built-in channels. */
export function builtinChannelIds(): string[] {
  return Object.keys(BUILTIN);
}

/** True when `ref` names a module by path rather than by id. */
export function isPathRef(ref: string): boolean {
  return ref.startsWith('.') || isAbsolute(ref) || ref.includes('/') || ref.includes('\\');
}

/**
 * Checks that `mod` meets the channel module contract; throws CONFIG_ERROR naming every missing
 * or malformed member.
 */
export function checkModule(mod: unknown, where: string): ChannelModule {
  const problems: string[] = [];
  const m = mod as Partial<ChannelModule> | undefined;
  if (!m || typeof m !== 'object') {
    throw configError(`${where} does not export a channel module`, {
      hint: 'Default-export { id, description, validateConfig, create }: see README.md, "Configuration" (third-party channels), and src/channel/contract.ts.',
    });
  }
  if (typeof m.id !== 'string' || !/^[a-z][a-z0-9-]{1,31}$/.test(m.id)) problems.push('id (a lowercase string)');
  const d = m.description;
  if (!d || typeof d !== 'object') problems.push('description');
  else {
    if (typeof d.name !== 'string') problems.push('description.name');
    if (typeof d.version !== 'string') problems.push('description.version');
    if (!Array.isArray(d.capabilities)) problems.push('description.capabilities');
    else {
      const bad = d.capabilities.filter((c) => !ALL_CAPABILITIES.includes(c));
      if (bad.length) problems.push(`description.capabilities (unknown: ${bad.join(', ')})`);
    }
    if (!Array.isArray(d.config)) problems.push('description.config');
    else if (d.config.some((f) => !f || typeof f.key !== 'string' || typeof f.description !== 'string')) {
      problems.push('description.config (each field needs key and description)');
    }
    if (typeof d.timeZone !== 'string') problems.push('description.timeZone');
  }
  if (typeof m.validateConfig !== 'function') problems.push('validateConfig()');
  if (typeof m.create !== 'function') problems.push('create()');
  if (problems.length) {
    throw configError(`${where} does not meet the channel contract: missing or malformed ${problems.join(', ')}`, {
      hint: 'See README.md, "Configuration" (third-party channels), src/channel/contract.ts, and channels/mock for a complete example.',
    });
  }
  return m as ChannelModule;
}

/** Checks an adapter against the capabilities its module declares. */
export function checkAdapter(mod: ChannelModule, adapter: ChannelAdapter): ChannelAdapter {
  const missing = mod.description.capabilities.filter((c) => typeof (adapter as Record<string, unknown>)[c] !== 'function');
  if (missing.length) {
    throw configError(`channel ${mod.id} declares ${missing.join(', ')} but its adapter does not implement ${missing.length === 1 ? 'it' : 'them'}`);
  }
  return adapter;
}

async function importPath(path: string): Promise<unknown> {
  let target = path;
  try {
    if ((await stat(path)).isDirectory()) target = join(path, 'index.js');
  } catch {
    throw configError(`channel module ${path} does not exist`);
  }
  try {
    const ns = (await import(pathToFileURL(target).href)) as { default?: unknown };
    return ns.default ?? ns;
  } catch (err) {
    throw configError(`cannot load channel module ${target}: ${(err as Error).message}`, { cause: err });
  }
}

/** Adapter operations that talk to the channel (as opposed to offline checks and parsing). */
const CHANNEL_CALLS = ['collect', 'queryCollect', 'closeCollect', 'refund', 'queryRefund', 'payout', 'queryPayout', 'balance', 'downloadBill', 'check'] as const;

/**
 * Wraps an adapter's channel calls so their errors mean the same thing for every channel: an
 * answer whose signature does not verify leaves the outcome unknown, so it exits 3 (channel
 * error) rather than 1 (which `pay verify` uses for an invalid callback); anything thrown that is
 * not a PayError is a CHANNEL_ERROR naming the channel.
 */
export function guardAdapter(mod: ChannelModule, adapter: ChannelAdapter): ChannelAdapter {
  const target = adapter as unknown as Record<string, unknown>;
  for (const op of CHANNEL_CALLS) {
    const fn = target[op];
    if (typeof fn !== 'function') continue;
    target[op] = async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>).apply(adapter, args);
      } catch (err) {
        if (isPayError(err)) {
          if (err.code !== 'SIGNATURE_INVALID' || err.exitCode === 3) throw err;
          throw new PayError('SIGNATURE_INVALID', err.message, {
            hint: err.hint ?? `The channel's answer was not trusted, so the outcome is unknown; run the same command again later, or \`pay query\` the order.`,
            providerCode: err.providerCode,
            providerMessage: err.providerMessage,
            httpStatus: err.httpStatus,
            requestId: err.requestId,
            channel: err.channel ?? mod.id,
            details: err.details,
            cause: err,
            exitCode: 3,
          });
        }
        throw new PayError('CHANNEL_ERROR', `channel ${mod.id} failed in ${op}: ${(err as Error)?.message ?? String(err)}`, { channel: mod.id, cause: err });
      }
    };
  }
  return adapter;
}

/** Options for {@link loadChannelModule}. */
export interface LoadModuleOptions {
  /** Config, for `channels.<id>.module` paths. */
  config?: LoadedConfig;
  cwd?: string;
}

/**
 * Loads a channel module: a built-in id, a path (`./my-channel`), or an id whose config names a
 * `module` path.
 */
export async function loadChannelModule(ref: string, options: LoadModuleOptions = {}): Promise<ChannelModule> {
  const cwd = options.cwd ?? process.cwd();
  if (isPathRef(ref)) return checkModule(await importPath(resolve(cwd, ref)), ref);
  const configured = options.config?.config.channels[ref]?.module;
  if (typeof configured === 'string') {
    const base = options.config ? configBaseDir(options.config, cwd) : cwd;
    const mod = checkModule(await importPath(resolve(base, configured)), configured);
    if (mod.id !== ref) throw configError(`channels.${ref}.module (${configured}) exports channel "${mod.id}", not "${ref}"`);
    return mod;
  }
  const loader = BUILTIN[ref];
  if (!loader) {
    const known = [...builtinChannelIds(), ...Object.keys(options.config?.config.channels ?? {}).filter((k) => !BUILTIN[k])];
    throw invalid(`unknown channel "${ref}"`, {
      hint: `Known channels: ${[...new Set(known)].join(', ')}. A third-party channel loads by path: --channel ./my-channel.`,
    });
  }
  return checkModule((await loader()).default, `channels/${ref}`);
}

/** Every channel id the registry can name: built-ins plus configured `module` paths. */
export function knownChannelRefs(config?: LoadedConfig): string[] {
  const configured = Object.entries(config?.config.channels ?? {})
    .filter(([, s]) => typeof s.module === 'string')
    .map(([id]) => id);
  return [...new Set([...builtinChannelIds(), ...configured])];
}

/** True when a config key holds a secret (schema flag, or a secret-looking name). */
export function isSecretKey(mod: ChannelModule | undefined, key: string): boolean {
  const field = mod?.description.config.find((f) => f.key === key);
  return field?.secret ?? SECRET_FIELD.test(key);
}

/** Resolved, validated settings of a channel under a profile. */
export function channelConfig(
  mod: ChannelModule,
  loaded: LoadedConfig,
  profile: string | undefined,
  env: Record<string, string | undefined>,
  cwd?: string,
  overrides?: Record<string, unknown>,
): Record<string, unknown> {
  // Overrides replace settings before references are resolved: an env: reference they replace
  // (a starter config's, under the demo's simulator keys) is never read.
  const raw = { ...channelSettings(loaded, mod.id, profile), ...(overrides ?? {}) };
  delete raw.module;
  const resolved = resolveSettings(raw, {
    baseDir: configBaseDir(loaded, cwd),
    env,
    isSecret: (k) => isSecretKey(mod, k),
    where: `channels.${mod.id}`,
  });
  return resolved;
}

/** Validates settings through the module, turning any stray error into CONFIG_ERROR. */
export function validateChannelConfig(mod: ChannelModule, settings: Record<string, unknown>): Record<string, unknown> {
  try {
    return mod.validateConfig(settings);
  } catch (err) {
    if (isPayError(err)) throw err;
    throw configError(`channels.${mod.id}: ${(err as Error).message}`, { cause: err });
  }
}

/** Where a channel keeps its own state for a given database: `<db dir>/<db name>.channels/<id>`. */
export function channelStateDir(dbPath: string, channelId: string): string {
  const name = basename(dbPath, extname(dbPath)) || 'pay';
  return join(dirname(dbPath), `${name}.channels`, channelId);
}

/** Options for {@link openChannel}. */
export interface OpenChannelOptions {
  config: LoadedConfig;
  profile?: string;
  env: Record<string, string | undefined>;
  cwd?: string;
  /** Database path (channels' state directories live beside it). */
  dbPath: string;
  clock: Clock;
  /** Receives every channel-call record (wired to the event log). */
  record?: (entry: ChannelCallRecord & { channel: string }) => void;
  debug?: (message: string) => void;
  /** Provides the shared HTTP client (lazy). */
  http?: () => Promise<HttpClient>;
  /** Settings laid over the config file's (the demo and load tests use this). */
  overrides?: Record<string, unknown>;
}

/** An adapter ready for calls. */
export interface OpenedChannel {
  module: ChannelModule;
  config: Record<string, unknown>;
  adapter: ChannelAdapter;
  /** Closes the adapter (the HTTP client belongs to whoever supplied it). */
  close(): Promise<void>;
}

/** Loads, configures and creates a channel adapter. Config is validated before any call. */
export async function openChannel(ref: string, options: OpenChannelOptions): Promise<OpenedChannel> {
  const mod = await loadChannelModule(ref, { config: options.config, cwd: options.cwd });
  // Overrides (demo, load tests) carry keys too: register them so they are masked like config secrets.
  for (const [k, v] of Object.entries(options.overrides ?? {})) if (typeof v === 'string' && isSecretKey(mod, k)) registerSecret(v);
  const settings = channelConfig(mod, options.config, options.profile, options.env, options.cwd, options.overrides);
  const config = validateChannelConfig(mod, settings);
  const dir = channelStateDir(options.dbPath, mod.id);
  let made = false;
  const deps: ChannelDeps = {
    // Made when a channel first asks for it, so a command that fails before any channel state is
    // needed (a damaged order book, a refused amount) leaves nothing beside the database.
    get stateDir() {
      if (!made) {
        try {
          mkdirSync(dir, { recursive: true });
        } catch (err) {
          throw configError(`cannot create channel state directory ${dir} (${(err as NodeJS.ErrnoException).code})`, {
            hint: 'Choose a writable --db location; channel state lives beside the database.',
          });
        }
        made = true;
      }
      return dir;
    },
    clock: options.clock,
    env: options.env,
    record: (entry) => options.record?.({ ...entry, channel: mod.id }),
    debug: options.debug ?? (() => {}),
    http: () => (options.http ? options.http() : Promise.reject(new PayError('SYSTEM_ERROR', 'no HTTP client is configured for this run'))),
  };
  const adapter = guardAdapter(mod, checkAdapter(mod, await mod.create(config, deps)));
  return {
    module: mod,
    config,
    adapter,
    close: async () => {
      await adapter.close?.();
    },
  };
}
