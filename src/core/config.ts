/**
 * Configuration: where files live, loading `pay.config.json`, profiles, and secret references.
 *
 * File shape:
 *   { "channels": { "<id>": { ...settings, "module"?: "./path/to/channel.js" } },
 *     "profiles": { "<name>": { "channels": { "<id>": { ...overrides } } } } }
 *
 * A string value may be a literal, `env:NAME` or `file:PATH` (relative to the config file).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { configError } from './errors.js';
import { registerSecret } from './redact.js';

/** Settings of one channel as written in the file (before secret references are resolved). */
export type ChannelSettings = Record<string, unknown>;

/** The parsed config file. */
export interface PayConfig {
  /** The order book when neither --db nor $PAY_DB names one: a SQLite path or a postgres:// URL. */
  db?: string;
  channels: Record<string, ChannelSettings>;
  profiles: Record<string, { channels?: Record<string, ChannelSettings>; routing?: unknown }>;
  /** Rules for `--channel auto` (checked by core/routing when used; a profile may replace them). */
  routing?: unknown;
}

/** A loaded config and where it came from. */
export interface LoadedConfig {
  /** The file read, or the path that would be read (it may not exist). */
  path: string;
  /** False when no file exists (an empty config is then in effect). */
  exists: boolean;
  /** How the path was chosen: flag, env, cwd, xdg. */
  origin: 'flag' | 'env' | 'cwd' | 'xdg';
  config: PayConfig;
}

type Env = Record<string, string | undefined>;

/** `$XDG_DATA_HOME/pay` (else ~/.local/share/pay). */
export function dataDir(env: Env = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'pay');
}

/** `$XDG_CONFIG_HOME/pay` (else ~/.config/pay). */
export function configDir(env: Env = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'pay');
}

/** The config path: `--config`, else `$PAY_CONFIG`, else `./pay.config.json`, else XDG. */
export function resolveConfigPath(flag: string | undefined, env: Env = process.env, cwd = process.cwd()): { path: string; origin: LoadedConfig['origin'] } {
  if (flag) return { path: resolve(cwd, flag), origin: 'flag' };
  if (env.PAY_CONFIG) return { path: resolve(cwd, env.PAY_CONFIG), origin: 'env' };
  const local = join(cwd, 'pay.config.json');
  if (existsSync(local)) return { path: local, origin: 'cwd' };
  return { path: join(configDir(env), 'config.json'), origin: 'xdg' };
}

/** Loads the config file; a missing file is an empty config unless it was named explicitly. */
export function loadConfig(flag: string | undefined, env: Env = process.env, cwd = process.cwd()): LoadedConfig {
  const { path, origin } = resolveConfigPath(flag, env, cwd);
  if (!existsSync(path)) {
    if (origin === 'flag' || origin === 'env') {
      throw configError(`config file ${path} does not exist`, {
        hint: 'Create one with `pay config init`, or leave out --config / PAY_CONFIG to run on defaults.',
      });
    }
    return { path, exists: false, origin, config: { channels: {}, profiles: {} } };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return { path, exists: true, origin, config: parseConfigText(text, path) };
}

/**
 * JSON has no comments, so a key starting with `//` is one, at any depth (`"//": "..."` or a list
 * of lines): the loader drops it, and `pay sandbox` keeps it when it rewrites the file.
 */
export function isCommentKey(key: string): boolean {
  return key.startsWith('//');
}

function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!isCommentKey(k)) out[k] = withoutComments(v);
  return out;
}

/** Parses and shape-checks config text. */
export function parseConfigText(text: string, path: string): PayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw configError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw configError(`config file ${path} must hold a JSON object`);
  const doc = withoutComments(raw) as Record<string, unknown>;
  const channels = doc.channels ?? {};
  const profiles = doc.profiles ?? {};
  if (!isObject(channels)) throw configError(`"channels" in ${path} must be an object of channel id -> settings`);
  if (!isObject(profiles)) throw configError(`"profiles" in ${path} must be an object of profile name -> { channels }`);
  for (const [id, settings] of Object.entries(channels)) {
    if (!isObject(settings)) throw configError(`channels.${id} in ${path} must be an object`);
  }
  for (const [name, profile] of Object.entries(profiles)) {
    if (!isObject(profile)) throw configError(`profiles.${name} in ${path} must be an object`);
    if (profile.channels !== undefined && !isObject(profile.channels)) {
      throw configError(`profiles.${name}.channels in ${path} must be an object`);
    }
  }
  if (raw.db !== undefined && (typeof raw.db !== 'string' || raw.db === '')) throw configError(`"db" in ${path} must be a SQLite path or a postgres:// URL`);
  return { ...(raw.db ? { db: raw.db as string } : {}), channels: channels as PayConfig['channels'], profiles: profiles as PayConfig['profiles'], ...(raw.routing !== undefined ? { routing: raw.routing } : {}) };
}

/**
 * The settings of channel `id` under `profile` (profile values override the base), with secret
 * references still unresolved. Throws when the profile is named but absent.
 */
export function channelSettings(loaded: LoadedConfig, id: string, profile?: string): ChannelSettings {
  const base = loaded.config.channels[id] ?? {};
  if (!profile) return { ...base };
  const p = loaded.config.profiles[profile];
  if (!p) {
    const names = Object.keys(loaded.config.profiles);
    throw configError(`profile "${profile}" is not in ${loaded.exists ? loaded.path : 'the config (no config file found)'}`, {
      hint: names.length ? `Profiles defined: ${names.join(', ')}.` : 'Define it under "profiles" in the config, or run `pay sandbox` to write a sandbox profile.',
    });
  }
  return { ...base, ...(p.channels?.[id] ?? {}) };
}

/**
 * Resolves `env:NAME` and `file:PATH` references in a channel's settings (one level deep; nested
 * objects are resolved too). Resolved values are registered as secrets when `isSecret(key)` holds,
 * so they can never reach a log. Errors name the field and reference, never the value.
 */
export function resolveSettings(
  settings: ChannelSettings,
  opts: { baseDir: string; env?: Env; isSecret?: (key: string) => boolean; where?: string },
): ChannelSettings {
  const env = opts.env ?? process.env;
  const out: ChannelSettings = {};
  for (const [key, value] of Object.entries(settings)) {
    const where = opts.where ? `${opts.where}.${key}` : key;
    if (typeof value === 'string') {
      const resolved = resolveReference(value, { baseDir: opts.baseDir, env, where });
      if (opts.isSecret?.(key)) registerSecret(resolved);
      out[key] = resolved;
    } else if (isObject(value)) {
      out[key] = resolveSettings(value, { ...opts, where });
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Resolves one value: `env:NAME`, `file:PATH`, or a literal. */
export function resolveReference(value: string, opts: { baseDir: string; env?: Env; where?: string }): string {
  const env = opts.env ?? process.env;
  const where = opts.where ?? 'value';
  if (value.startsWith('env:')) {
    const name = value.slice(4);
    const v = env[name];
    if (v === undefined || v === '') {
      throw configError(`${where} refers to environment variable ${name}, which is not set`, {
        hint: `Export ${name} before running pay.`,
      });
    }
    return v;
  }
  if (value.startsWith('file:')) {
    const rel = value.slice(5);
    const path = isAbsolute(rel) ? rel : resolve(opts.baseDir, rel);
    try {
      return readFileSync(path, 'utf8').replace(/\s+$/, '');
    } catch (err) {
      throw configError(`${where} refers to file ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return value;
}

/** Directory against which relative `file:` references of a loaded config resolve. */
export function configBaseDir(loaded: LoadedConfig, cwd = process.cwd()): string {
  return loaded.exists ? dirname(loaded.path) : cwd;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
