/**
 * What every command receives: global options, output streams, and lazy access to the config,
 * the order store and channels. Nothing heavy is opened until a command asks for it, so
 * `pay --version` and `pay channels list` never load SQLite or undici.
 */
import type { Writable } from 'node:stream';
import { configBaseDir, loadConfig, type LoadedConfig } from '../core/config.js';
import { PayError } from '../core/errors.js';
import { redact, redactText } from '../core/redact.js';
import { systemClock, type Clock } from '../core/time.js';
import type { OpenedChannel } from '../channel/registry.js';
import type { HttpClient } from '../channel/http-client.js';
import type { UndiciHttpClient } from '../channel/undici-http-client.js';
import { openStore, resolveDbTarget, type DbTarget } from '../store/open.js';
import type { NewEvent, Store } from '../store/store.js';
import type { StatsStore } from '../store/stats-store.js';

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
  /** Absolute database path, or the PostgreSQL URL with its password masked (for messages). */
  readonly dbPath: string;
  /** Local path beside which channel state and downloaded bills live (the SQLite file itself). */
  readonly localPath: string;
  /** The order book --db, $PAY_DB or the config's "db" names (resolved on first use). */
  dbTarget(): DbTarget;
  /** The loaded config (read once, on first use). */
  config(): LoadedConfig;
  /**
   * The order store (opened and migrated once, on first use). With `readOnly` or `mustExist` a
   * missing order book is an error (exit 2) and nothing is created.
   */
  store(access?: StoreAccess): Promise<Store>;
  /** Channel statistics over the order store (`pay stats`, routing's health check). */
  stats(): Promise<StatsStore>;
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

/** How a command uses the order store (every backend honours it). */
export interface StoreAccess {
  /** The command only reads: a missing database is a usage error, never created. */
  readOnly?: boolean;
  /** The command changes only what is already in the book (query, refund): same as readOnly for a missing database. */
  mustExist?: boolean;
}

/** Reads a positive integer from the environment (`PAY_HTTP_*` tuning), else undefined. */
function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new PayError('CONFIG_ERROR', `${name} must be a positive whole number (got "${v.slice(0, 20)}")`);
  return n;
}

/**
 * The default HTTP client: undici, loaded on first use, one per context. `PAY_HTTP_TIMEOUT_MS`
 * (response headers and body), `PAY_HTTP_CONNECT_TIMEOUT_MS` and `PAY_HTTP_MAX_ATTEMPTS` tune it;
 * every call goes to the event log as `http.call` (redacted by the client and the store).
 */
async function defaultHttpClient(
  env: Record<string, string | undefined>,
  debug: (message: string) => void,
  append: (event: NewEvent) => Promise<void>,
): Promise<HttpClient> {
  const timeout = envInt(env, 'PAY_HTTP_TIMEOUT_MS');
  const { createHttpClient } = await import('../channel/undici-http-client.js');
  return createHttpClient({
    env,
    headersTimeoutMs: timeout,
    bodyTimeoutMs: timeout,
    connectTimeoutMs: envInt(env, 'PAY_HTTP_CONNECT_TIMEOUT_MS'),
    maxAttempts: envInt(env, 'PAY_HTTP_MAX_ATTEMPTS'),
    onCall: (record) => {
      const { channel, orderNo, refundNo, ...data } = record as typeof record & { channel?: string };
      const req = data.request as { method?: string; url?: string } | undefined;
      debug(`${req?.method ?? ''} ${req?.url ?? ''} -> ${data.error ? data.error.code : data.httpStatus} in ${Math.round(data.durationMs)} ms (${data.attempts ?? 1} attempt${data.attempts === 1 ? '' : 's'})`);
      append({ type: 'http.call', channel, orderNo, refundNo, data: data as Record<string, unknown> }).catch((err) => debug(`could not record HTTP call: ${(err as Error).message}`));
    },
  });
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
  const profile = options.profile ?? env.PAY_PROFILE ?? undefined;

  let loaded: LoadedConfig | undefined;
  let target: DbTarget | undefined;
  // --db, else $PAY_DB, else the config's "db" (relative to the config file), else the data dir.
  const db = (): DbTarget => {
    if (!target) {
      if (options.db || env.PAY_DB) target = resolveDbTarget(options.db || env.PAY_DB, env, cwd);
      else target = resolveDbTarget(ctx.config().config.db, env, configBaseDir(ctx.config(), cwd));
    }
    return target;
  };
  let store: Promise<Store> | undefined;
  const channels: OpenedChannel[] = [];
  let http: Promise<HttpClient> | undefined;
  const httpViews = new Map<string, HttpClient>();

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
    get dbPath() {
      return db().location;
    },
    get localPath() {
      return db().localPath;
    },
    dbTarget: db,
    config() {
      loaded ??= loadConfig(options.config, env, cwd);
      return loaded;
    },
    store(access: StoreAccess = {}) {
      store ??= Promise.resolve().then(() => {
        const target = db();
        debug(`opening order store ${target.location}`);
        // Folders are created for the default location, or when asked (PAY_DB_CREATE_DIRS=1); a
        // --db, PAY_DB or config "db" folder must exist.
        const named = Boolean(options.db || env.PAY_DB) || ctx.config().config.db !== undefined;
        return openStore(target, {
          clock,
          mustExist: Boolean(access.readOnly || access.mustExist),
          createDirs: !named || env.PAY_DB_CREATE_DIRS === '1',
          busyTimeoutMs: envInt(env, 'PAY_DB_BUSY_TIMEOUT_MS'),
        });
      });
      return store;
    },
    async stats() {
      return (await ctx.store()).stats();
    },
    async channel(ref: string, overrides?: Record<string, unknown>) {
      const { openChannel, isPathRef } = await import('../channel/registry.js');
      const s = await ctx.store();
      const opened = await openChannel(ref, {
        config: ctx.config(),
        profile: ctx.profile,
        env,
        cwd,
        dbPath: ctx.localPath,
        clock,
        debug,
        overrides,
        http: () => {
          http ??= options.http ? options.http() : defaultHttpClient(env, debug, (e) => s.appendEvent(e));
          // Built-in ids tag the client's errors and records with the channel; paths stay untagged.
          return http.then((c) => {
            if (isPathRef(ref) || !('forChannel' in c)) return c;
            let view = httpViews.get(ref);
            if (!view) httpViews.set(ref, (view = (c as UndiciHttpClient).forChannel(ref)));
            return view;
          });
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
