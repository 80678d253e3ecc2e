/**
 * `pay sandbox`: runs the channel simulators on loopback until interrupted, and writes (or prints)
 * the `sandbox` profile that points every `pay` command at them. Keys the simulators generated are
 * saved as files beside the config (mode 0600) and referenced as `file:`, so no secret is printed
 * and the config file holds no key material.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { isObject, parseConfigText, resolveConfigPath } from '../core/config.js';
import { configError, ExitError, invalid } from '../core/errors.js';
import { SECRET_FIELD } from '../core/redact.js';
import type { RunningSandbox, SandboxOptions } from '../sandbox/server.js';
import { print, type Presentation } from '../output/render.js';
import type { Context } from './context.js';

export interface SandboxCommandOptions {
  /** Base port (channel i gets port + i); 0 picks free ports. */
  port?: string;
  /** Channels to serve (default: all real channels). */
  channel?: string[];
  /** Write the profile into the config file (the default unless only --print-profile is given). */
  writeProfile?: boolean;
  /** Print the profile (with `file:` references) instead of, or with --write-profile besides, writing it. */
  printProfile?: boolean;
  /** Where simulators send webhooks when the request names no notify URL (Stripe, PayPal). */
  webhookUrl?: string;
}

/** Test and embedding hooks. */
export interface SandboxHooks {
  /** Extra simulators (tests). */
  simulators?: SandboxOptions['simulators'];
  /** Stops the sandbox (instead of SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once the simulators listen and the profile is written. */
  onReady?: (ready: SandboxReady, sandbox: RunningSandbox) => void;
}

/** What `pay sandbox` reports once it is up. */
export interface SandboxReady {
  channels: { id: string; baseUrl: string; port: number }[];
  /** Channels with no simulator yet. */
  unavailable: string[];
  /** The config file the profile was written to (absent when only printed). */
  configPath?: string;
  /** Directory of the generated key files. */
  keyDir: string;
  /** The profile's channel settings, secrets as `file:` references. */
  profile: Record<string, Record<string, unknown>>;
  /** Whether the profile was written, printed, or both. */
  wrote: boolean;
  printed: boolean;
}

/** Name of the directory beside the config that holds generated sandbox keys. */
export const KEY_DIR = '.pay-sandbox';

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n > 65535) throw invalid(`--port "${text}" is not a port number`, { hint: 'Give 0-65535; 0 picks free ports.' });
  return n;
}

/** The config file the profile goes to: --config / $PAY_CONFIG / an existing file, else ./pay.config.json. */
export function sandboxConfigPath(configFlag: string | undefined, ctx: Pick<Context, 'env' | 'cwd'>): string {
  const r = resolveConfigPath(configFlag, ctx.env, ctx.cwd);
  return r.origin === 'xdg' && !existsSync(r.path) ? join(ctx.cwd, 'pay.config.json') : r.path;
}

function isPem(v: string): boolean {
  return /-----BEGIN [A-Z0-9 ]+-----/.test(v);
}

/**
 * Saves key material of one channel's settings as files under `dir` (0600) and returns the
 * settings with `file:` references relative to `baseDir` in their place.
 */
export function externalizeSecrets(
  settings: Record<string, unknown>,
  isSecret: (key: string) => boolean,
  dir: string,
  baseDir: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value !== 'string' || !(isSecret(key) || isPem(value))) {
      out[key] = value;
      continue;
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${key.replace(/[^A-Za-z0-9_-]/g, '_')}${isPem(value) ? '.pem' : '.txt'}`);
    writeFileSync(file, value.endsWith('\n') ? value : `${value}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // an existing file keeps its old mode otherwise
    out[key] = `file:${relative(baseDir, file).split(sep).join('/')}`;
  }
  return out;
}

/** Writes `profiles.sandbox.channels.<id>` for each channel, preserving everything else in the file. */
export function writeSandboxProfile(path: string, profile: Record<string, Record<string, unknown>>): void {
  let doc: Record<string, unknown> = {};
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    parseConfigText(text, path); // refuses a damaged file rather than overwriting it
    doc = JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
  }
  const profiles = (isObject(doc.profiles) ? doc.profiles : (doc.profiles = {})) as Record<string, unknown>;
  const sandbox = (isObject(profiles.sandbox) ? profiles.sandbox : (profiles.sandbox = {})) as Record<string, unknown>;
  const channels = (isObject(sandbox.channels) ? sandbox.channels : (sandbox.channels = {})) as Record<string, unknown>;
  for (const [id, settings] of Object.entries(profile)) channels[id] = settings;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    throw configError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Resolves when SIGINT/SIGTERM arrives or `signal` aborts. */
function untilStopped(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    // Signal handlers do not keep Node running; with no simulator listening nothing else would.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const done = (why: string) => {
      clearInterval(keepAlive);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const onAbort = () => done('abort');
    if (signal?.aborted) return done('abort');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Starts the simulators, writes/prints the profile, prints the ready table, and runs until
 * interrupted; then closes everything. Returns what it reported when ready.
 */
export async function sandbox(opts: SandboxCommandOptions, configFlag: string | undefined, ctx: Context, hooks: SandboxHooks = {}): Promise<SandboxReady> {
  const port = parsePort(opts.port);
  if (opts.webhookUrl !== undefined && !/^https?:\/\/\S+$/.test(opts.webhookUrl)) throw invalid(`--webhook-url "${opts.webhookUrl}" is not an http(s) URL`);
  const wrote = opts.writeProfile ?? !opts.printProfile;
  const printed = opts.printProfile ?? false;
  const configPath = sandboxConfigPath(configFlag, ctx);
  const baseDir = dirname(configPath);
  const keyDir = join(baseDir, KEY_DIR);
  if (wrote && existsSync(configPath)) parseConfigText(readFileSync(configPath, 'utf8'), configPath); // fail before starting anything

  const { startSandbox } = await import('../sandbox/server.js');
  const log = (m: string) => (ctx.verbose ? ctx.debug(m) : ctx.notice(`sandbox: ${m}`));
  const sb = await startSandbox({ channels: opts.channel, port, clock: ctx.clock, log, simulators: hooks.simulators, webhookUrl: opts.webhookUrl });
  try {
    const { isSecretKey, loadChannelModule } = await import('../channel/registry.js');
    const profile: Record<string, Record<string, unknown>> = {};
    for (const [id, ch] of Object.entries(sb.channels)) {
      const mod = await loadChannelModule(id, { cwd: ctx.cwd }).catch(() => undefined);
      profile[id] = externalizeSecrets(ch.profile, (k) => (mod ? isSecretKey(mod, k) : SECRET_FIELD.test(k)), join(keyDir, id), baseDir);
    }
    if (wrote && Object.keys(profile).length) writeSandboxProfile(configPath, profile);
    const ready: SandboxReady = {
      channels: Object.values(sb.channels).map((c) => ({ id: c.id, baseUrl: c.baseUrl, port: c.port })),
      unavailable: sb.unavailable,
      configPath: wrote && Object.keys(profile).length ? configPath : undefined,
      keyDir,
      profile,
      wrote,
      printed,
    };
    // Listen for the stop signals before saying "ready", so a caller that stops at once is heard.
    const stop = untilStopped(hooks.signal);
    print(presentReady(ready), ctx);
    hooks.onReady?.(ready, sb);
    const why = await stop;
    ctx.notice(`sandbox: stopping (${why})`);
    return ready;
  } finally {
    await sb.close();
  }
}

/** Ends the command after a clean stop: everything was printed while it ran. */
export function stopped(): never {
  throw new ExitError(0);
}

/** The ready report: channels, base URLs and how to use them. */
export function presentReady(r: SandboxReady): Presentation {
  const first = r.channels[0]?.id ?? 'alipay';
  const blocks: Presentation['blocks'] = [
    {
      kind: 'table',
      title: 'pay sandbox',
      columns: [
        { key: 'channel', header: 'channel' },
        { key: 'url', header: 'base URL' },
        { key: 'status', header: 'status' },
      ],
      rows: [
        ...r.channels.map((c) => ({ channel: c.id, url: c.baseUrl, status: { text: 'running', tone: 'ok' as const } })),
        ...r.unavailable.map((id) => ({ channel: id, url: '', status: { text: 'no simulator yet', tone: 'dim' as const } })),
      ],
    },
  ];
  if (r.channels.length === 0) {
    blocks.push({ kind: 'text', tone: 'warn', text: 'No channel simulator is available yet; nothing to point pay at. (Press Ctrl-C to stop.)' });
  } else {
    if (r.configPath) blocks.push({ kind: 'text', text: `Profile "sandbox" written to ${r.configPath}; generated keys in ${r.keyDir} (mode 0600).` });
    if (r.printed) blocks.push({ kind: 'raw', text: JSON.stringify({ profiles: { sandbox: { channels: r.profile } } }, null, 2) });
    blocks.push({
      kind: 'text',
      text: [
        'Use it:',
        `  pay create --profile sandbox --channel ${first} --amount 0.01 --currency ${first === 'stripe' || first === 'paypal' ? 'USD' : 'CNY'}`,
        `  curl -X POST ${r.channels[0].baseUrl}/__sandbox/pay -d '{"orderNo":"<order-no>"}'   # the payer pays`,
        '  pay query <order-no> --profile sandbox',
        'Faults: POST /__sandbox/faults {"kind":"status","status":503,"match":"..."}. Press Ctrl-C to stop.',
      ].join('\n'),
    });
  }
  return {
    json: {
      channels: r.channels,
      unavailable: r.unavailable,
      config: r.configPath ?? null,
      keyDir: r.keyDir,
      ...(r.printed ? { profile: { profiles: { sandbox: { channels: r.profile } } } } : {}),
    },
    blocks,
  };
}
