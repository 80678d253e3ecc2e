/**
 * What every command receives: global options, output streams, and lazy access to the config,
 * the order store and channels. Nothing heavy is opened until a command asks for it, so
 * `pay --version` and `pay channels list` never load SQLite or undici.
 */
import type { Writable } from 'node:stream';
import { loadConfig, resolveDbPath, type LoadedConfig } from '../core/config.js';
import { redact, redactText } from '../core/redact.js';
import { systemClock, type Clock } from '../core/time.js';
import type { OpenedChannel } from '../channel/registry.js';
import type { HttpClient } from '../channel/http-client.js';
import type { Store } from '../store/store.js';

/** Global options (DESIGN.md, "Command-line contract"). */
export interface GlobalOptions {
  db?: string;
  config?: string;
  profile?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** Options for {@link createContext}. */
export interface ContextOptions extends GlobalOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdout?: Writable;
  stderr?: Writable;
  /** Whether prompts may be shown (stdin and stderr are TTYs). */
  interactive?: boolean;
  clock?: Clock;
  /** Supplies the HTTP client real channels use (default: the undici client, loaded lazily). */
  http?: () => Promise<HttpClient>;
}

/** The command context. */
export interface Context {
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly clock: Clock;
  readonly json: boolean;
  readonly color: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly interactive: boolean;
  readonly profile?: string;
  /** Absolute database path. */
  readonly dbPath: string;
  /** The loaded config (read once, on first use). */
  config(): LoadedConfig;
  /** The order store (opened and migrated once, on first use). */
  store(): Promise<Store>;
  /**
   * Opens a channel by id or path, with its calls recorded in the event log. `overrides` are laid
   * over the config file's settings.
   */
  channel(ref: string, overrides?: Record<string, unknown>): Promise<OpenedChannel>;
  /** Diagnostics on stderr (with -v). */
  debug(message: string): void;
  /** Progress for people: stderr, only on a TTY, never with --json or -q. */
  notice(message: string): void;
  /** Closes everything opened. */
  close(): Promise<void>;
}

/** Builds a context. Cheap: opens nothing. */
export function createContext(options: ContextOptions = {}): Context {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const clock = options.clock ?? systemClock;
  const json = options.json ?? false;
  const noColorEnv = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const color = (options.color ?? true) && !noColorEnv && !json && Boolean((stdout as { isTTY?: boolean }).isTTY || env.FORCE_COLOR);
  const quiet = options.quiet ?? false;
  const verbose = options.verbose ?? false;
  const dbPath = resolveDbPath(options.db, env, cwd);
  const profile = options.profile ?? env.PAY_PROFILE ?? undefined;

  let loaded: LoadedConfig | undefined;
  let store: Promise<Store> | undefined;
  const channels: OpenedChannel[] = [];
  let http: Promise<HttpClient> | undefined;

  const debug = (message: string) => {
    if (verbose) stderr.write(`pay: ${redactText(message)}\n`);
  };

  const ctx: Context = {
    cwd,
    env,
    stdout,
    stderr,
    clock,
    json,
    color,
    quiet,
    verbose,
    interactive: options.interactive ?? Boolean(process.stdin.isTTY && (stderr as { isTTY?: boolean }).isTTY),
    profile: profile || undefined,
    dbPath,
    config() {
      loaded ??= loadConfig(options.config, env, cwd);
      return loaded;
    },
    store() {
      store ??= import('../store/sqlite-store.js').then(({ SqliteStore }) => {
        debug(`opening order store ${dbPath}`);
        return SqliteStore.open(dbPath, { clock });
      });
      return store;
    },
    async channel(ref: string, overrides?: Record<string, unknown>) {
      const { openChannel } = await import('../channel/registry.js');
      const s = await ctx.store();
      const opened = await openChannel(ref, {
        config: ctx.config(),
        profile: ctx.profile,
        env,
        cwd,
        dbPath,
        clock,
        debug,
        overrides,
        http: () => {
          http ??= options.http
            ? options.http()
            : Promise.reject(new Error('no HTTP client available in this build'));
          return http;
        },
        record: (entry) => {
          const { channel, orderNo, refundNo, ...data } = entry;
          s.appendEvent({ type: 'channel.call', channel, orderNo, refundNo, data: redact(data as Record<string, unknown>) }).catch((err) =>
            debug(`could not record channel call: ${(err as Error).message}`),
          );
        },
      });
      channels.push(opened);
      return opened;
    },
    debug,
    notice(message: string) {
      if (!json && !quiet && (stderr as { isTTY?: boolean }).isTTY) stderr.write(`${redactText(message)}\n`);
    },
    async close() {
      for (const c of channels.splice(0)) await c.close().catch(() => {});
      if (http) await (await http.catch(() => undefined))?.close();
      if (store) await (await store.catch(() => undefined))?.close();
    },
  };
  return ctx;
}
