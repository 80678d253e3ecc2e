/**
 * `pay channels list` and `pay channels check`.
 */
import { isPayError, PayError } from '../core/errors.js';
import type { ChannelDescription } from '../channel/contract.js';
import type { Presentation } from '../output/render.js';
import type { Context } from './context.js';

export interface ListedChannel {
  id: string;
  description?: ChannelDescription;
  /** True when the config has settings for it. */
  configured: boolean;
  /** Set when the module could not be loaded. */
  error?: string;
}

/** Every known channel with its description. */
export async function listChannels(ctx: Context): Promise<ListedChannel[]> {
  const { knownChannelRefs, loadChannelModule } = await import('../channel/registry.js');
  const loaded = ctx.config();
  const out: ListedChannel[] = [];
  for (const id of knownChannelRefs(loaded)) {
    const configured = id in loaded.config.channels;
    try {
      const mod = await loadChannelModule(id, { config: loaded, cwd: ctx.cwd });
      out.push({ id: mod.id, description: mod.description, configured });
    } catch (err) {
      out.push({ id, configured, error: (err as Error).message });
    }
  }
  return out;
}

export function presentList(list: ListedChannel[]): Presentation {
  return {
    json: { channels: list.map((c) => ({ id: c.id, configured: c.configured, ...(c.description ?? {}), ...(c.error ? { error: c.error } : {}) })) },
    blocks: [
      {
        kind: 'table',
        columns: [
          { key: 'id', header: 'id' },
          { key: 'name', header: 'name' },
          { key: 'version', header: 'version' },
          { key: 'configured', header: 'configured' },
          { key: 'capabilities', header: 'capabilities' },
        ],
        rows: list.map((c) => ({
          id: c.id,
          name: c.description?.name ?? { text: c.error ?? '', tone: 'error' },
          version: c.description?.version,
          configured: c.id === 'mock' ? 'built-in defaults' : c.configured ? 'yes' : { text: 'no', tone: 'dim' },
          capabilities: c.description?.capabilities.join(' '),
        })),
      },
      { kind: 'text', tone: 'dim', text: 'Fields of a channel: pay channels list --json. Validate settings: pay channels check <id>.' },
    ],
  };
}

export interface CheckedChannel {
  id: string;
  /** Config resolved and valid. */
  config: 'ok' | 'error';
  /** Reachability: ok, error, or skipped (config invalid / channel cannot check). */
  reach: 'ok' | 'error' | 'skipped';
  detail: string;
  code?: string;
  latencyMs?: number;
}

/** Validates config (and reachability, where the channel can) of one channel or all configured. */
export async function checkChannels(id: string | undefined, ctx: Context): Promise<CheckedChannel[]> {
  const loaded = ctx.config();
  // Channels configured in the base settings or in the active profile (a sandbox profile often
  // holds channels the base config does not mention).
  const inProfile = ctx.profile ? Object.keys(loaded.config.profiles[ctx.profile]?.channels ?? {}) : [];
  const ids = id ? [id] : [...new Set(['mock', ...Object.keys(loaded.config.channels), ...inProfile])];
  const out: CheckedChannel[] = [];
  for (const ref of ids) {
    let opened;
    try {
      opened = await ctx.channel(ref);
    } catch (err) {
      if (!isPayError(err)) throw err;
      if (err.code === 'INVALID_REQUEST' && id) throw err; // unknown channel named explicitly
      out.push({ id: ref, config: 'error', reach: 'skipped', detail: err.message + (err.hint ? ` ${err.hint}` : ''), code: err.code });
      continue;
    }
    if (!opened.adapter.check) {
      out.push({ id: opened.module.id, config: 'ok', reach: 'skipped', detail: 'config valid; the channel has no reachability check' });
      continue;
    }
    try {
      const r = await opened.adapter.check();
      out.push({ id: opened.module.id, config: 'ok', reach: r.ok ? 'ok' : 'error', detail: r.detail, latencyMs: r.latencyMs });
    } catch (err) {
      const e = isPayError(err) ? err : new PayError('CHANNEL_ERROR', (err as Error).message);
      out.push({ id: opened.module.id, config: 'ok', reach: 'error', detail: e.message, code: e.code });
    }
  }
  return out;
}

export function presentCheck(list: CheckedChannel[]): Presentation {
  const configBad = list.some((c) => c.config === 'error');
  const reachBad = list.some((c) => c.reach === 'error');
  const tone = (s: string) => ({ text: s, tone: s === 'ok' ? ('ok' as const) : s === 'error' ? ('error' as const) : ('dim' as const) });
  return {
    json: { channels: list, ok: !configBad && !reachBad },
    blocks: [
      {
        kind: 'table',
        columns: [
          { key: 'id', header: 'channel' },
          { key: 'config', header: 'config' },
          { key: 'reach', header: 'reachable' },
          { key: 'detail', header: 'detail' },
        ],
        rows: list.map((c) => ({ id: c.id, config: tone(c.config), reach: tone(c.reach), detail: c.detail })),
      },
    ],
    exitCode: configBad ? 2 : reachBad ? 3 : 0,
  };
}
