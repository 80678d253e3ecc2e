/**
 * `pay config init` and `pay config show`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { channelSettings, resolveConfigPath, type LoadedConfig } from '../core/config.js';
import { invalid } from '../core/errors.js';
import { MASK } from '../core/redact.js';
import type { Presentation } from '../output/render.js';
import type { Context } from './context.js';

export interface InitOptions {
  /** Channels to add skeletons for (besides mock). */
  channel?: string[];
  force?: boolean;
}

export interface InitResult {
  path: string;
  channels: string[];
}

/** Writes a starter config. Secrets are written as `env:` references, never as values. */
export async function configInit(opts: InitOptions, configFlag: string | undefined, ctx: Context): Promise<InitResult> {
  const { path } = configFlag ? resolveConfigPath(configFlag, ctx.env, ctx.cwd) : { path: `${ctx.cwd}/pay.config.json` };
  if (existsSync(path) && !opts.force) {
    throw invalid(`${path} already exists`, { hint: 'Pass --force to overwrite it, or edit it by hand.' });
  }
  const { loadChannelModule } = await import('../channel/registry.js');
  const channels: Record<string, Record<string, unknown>> = {
    mock: { latencyMs: 0, successRate: 1, settleAfterMs: 1000, balance: '1000000', feeBps: 60 },
  };
  for (const id of opts.channel ?? []) {
    if (id === 'mock') continue;
    const mod = await loadChannelModule(id, { cwd: ctx.cwd });
    const skeleton: Record<string, unknown> = {};
    for (const f of mod.description.config) {
      if (f.secret) skeleton[f.key] = `env:PAY_${id.toUpperCase()}_${f.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
      else if (f.required) skeleton[f.key] = f.default ?? '';
    }
    channels[mod.id] = skeleton;
  }
  const doc = { channels, profiles: {} };
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
