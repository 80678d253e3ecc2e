/**
 * `pay config init` and `pay config show`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { channelSettings, resolveConfigPath, type LoadedConfig } from '../core/config.js';
import { invalid } from '../core/errors.js';
import { MASK } from '../core/redact.js';
import type { ChannelModule } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import type { Context } from './context.js';

export interface InitOptions {
  /** Channels to write starters for (besides mock); default: every built-in channel. */
  channel?: string[];
  force?: boolean;
}

export interface InitResult {
  path: string;
  channels: string[];
}

/** `PAY_<CHANNEL>_<KEY>`: the environment variable a starter names for a secret (apiV3Key -> API_V3_KEY). */
export function envNameFor(channelId: string, key: string): string {
  return `PAY_${channelId.toUpperCase()}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Settings a built-in channel needs in practice besides its required ones (the provider's public
 * key to trust its answers, the signing certificate and its chain, the webhook secret): written as
 * `env:` references too. The alternatives (Alipay's certificate mode, UnionPay's bare private key)
 * are named in the comment.
 */
const USUAL_KEYS: Record<string, string[]> = {
  alipay: ['alipayPublicKey'],
  unionpay: ['signCert', 'signCertPassword', 'middleCert', 'rootCert'],
  stripe: ['webhookSecret'],
  paypal: ['webhookId'],
};

/**
 * A channel's starter section: its required and usual settings (secrets and keys as `env:`
 * references, the rest empty or at their default, to fill in) under a `//` comment naming the
 * optional ones.
 */
export function channelStarter(mod: ChannelModule): Record<string, unknown> {
  const section: Record<string, unknown> = {};
  const optional: string[] = [];
  const usual = USUAL_KEYS[mod.id] ?? [];
  for (const f of mod.description.config) {
    if (f.required || usual.includes(f.key)) {
      section[f.key] = f.secret || f.type === 'pem' || usual.includes(f.key) ? `env:${envNameFor(mod.id, f.key)}` : (f.default ?? '');
    } else optional.push(f.key);
  }
  const id = mod.id;
  const comment = [
    `${mod.description.name}. Fill in the empty values; secrets are read from the environment (env:NAME) or a file (file:PATH, relative to this file), never written here.`,
    ...(optional.length ? [`Optional: ${optional.join(', ')}.`] : []),
    `\`pay channels list --json\` says what each field is; \`pay channels check ${id}\` checks them. Remove this section if you do not use ${id}.`,
  ];
  return { '//': comment, ...section };
}

/** Writes a starter config. Secrets are written as `env:` references, never as values. */
export async function configInit(opts: InitOptions, configFlag: string | undefined, ctx: Context): Promise<InitResult> {
  const { path } = configFlag ? resolveConfigPath(configFlag, ctx.env, ctx.cwd) : { path: `${ctx.cwd}/pay.config.json` };
  if (existsSync(path) && !opts.force) {
    throw invalid(`${path} already exists`, { hint: 'Pass --force to overwrite it, or edit it by hand.' });
  }
  const { builtinChannelIds, loadChannelModule } = await import('../channel/registry.js');
  const channels: Record<string, Record<string, unknown>> = {
    mock: {
      '//': ['The in-process mock channel: no account, no network. Optional: scenario, scenarioRate, scenarioOps, seed, webhookSecret, persist (see README.md, "The mock channel").'],
      latencyMs: 0,
      successRate: 1,
      settleAfterMs: 1000,
      balance: '1000000',
      feeBps: 60,
    },
  };
  const ids = opts.channel?.length ? opts.channel : builtinChannelIds();
  for (const id of ids) {
    if (id === 'mock') continue;
    const mod = await loadChannelModule(id, { cwd: ctx.cwd });
    channels[mod.id] = channelStarter(mod);
  }
  const doc = {
    '//': [
      'pay configuration (README.md, "Configuration"). Keys starting with // are comments: pay ignores them and keeps them.',
      'A value may be a literal, env:NAME or file:PATH. A profile (--profile, PAY_PROFILE) lays its channel settings over these; `pay sandbox` writes the "sandbox" one.',
    ],
    channels,
    profiles: {},
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  return { path, channels: Object.keys(channels) };
}

export function presentInit(r: InitResult): Presentation {
  return {
    json: r,
    blocks: [
      { kind: 'text', tone: 'ok', text: `Wrote ${r.path} (channels: ${r.channels.join(', ')}).` },
      { kind: 'text', tone: 'dim', text: 'Secrets are env:NAME or file:PATH references; set them before use. Check with: pay channels check' },
    ],
  };
}

export interface ShowConfigResult {
  path: string;
  exists: boolean;
  origin: LoadedConfig['origin'];
  profile?: string;
  profiles: string[];
  dbPath: string;
  channels: Record<string, Record<string, unknown>>;
}

/** The effective config, secrets masked (references such as env:NAME are shown as written). */
export async function configShow(ctx: Context): Promise<ShowConfigResult> {
  const loaded = ctx.config();
  const { isSecretKey, loadChannelModule } = await import('../channel/registry.js');
  const channels: Record<string, Record<string, unknown>> = {};
  const ids = new Set([...Object.keys(loaded.config.channels), ...Object.values(loaded.config.profiles).flatMap((p) => Object.keys(p.channels ?? {}))]);
  for (const id of ids) {
    const settings = channelSettings(loaded, id, ctx.profile);
    const mod = await loadChannelModule(id, { config: loaded, cwd: ctx.cwd }).catch(() => undefined);
    const shown: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(settings)) {
      const isRef = typeof v === 'string' && (v.startsWith('env:') || v.startsWith('file:'));
      shown[k] = isSecretKey(mod, k) && !isRef && v !== '' ? MASK : v;
    }
    channels[id] = shown;
  }
  return {
    path: loaded.path,
    exists: loaded.exists,
    origin: loaded.origin,
    profile: ctx.profile,
    profiles: Object.keys(loaded.config.profiles),
    dbPath: ctx.dbPath,
    channels,
  };
}

export function presentShow(r: ShowConfigResult): Presentation {
  const blocks: Presentation['blocks'] = [
    {
      kind: 'fields',
      fields: [
        ['config', `${r.path}${r.exists ? '' : ' (not found: defaults in effect)'}`],
        ['found via', r.origin],
        ['profile', r.profile ?? '(none)'],
        ['profiles', r.profiles.join(', ') || '(none)'],
        ['database', r.dbPath],
      ],
    },
  ];
  for (const [id, settings] of Object.entries(r.channels)) {
    blocks.push({
      kind: 'fields',
      title: `channels.${id}`,
      fields: Object.entries(settings).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
    });
  }
  return { json: r, blocks };
}
