/**
 * Which database `--db`, `$PAY_DB` or the config's `db` names, and opening it: a `postgres://` or
 * `postgresql://` URL is PostgreSQL, any other `scheme://` is refused (exit 2, nothing created),
 * anything else is a SQLite path. The PostgreSQL driver is imported only for a PostgreSQL URL, so
 * SQLite start-up does not pay for it. The password never leaves this module but into the driver:
 * `location` masks it, and it is registered as a secret so no log or error can show it.
 */
import { join, resolve } from 'node:path';
import { dataDir, resolveReference } from '../core/config.js';
import { configError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { Clock } from '../core/time.js';
import type { Store } from './store.js';

type Env = Record<string, string | undefined>;

/** TLS settings for the driver, from `sslmode` (libpq's names). */
export type PgSsl = false | { rejectUnauthorized: boolean; ca?: string; checkServerIdentity?: () => undefined };

/** Connection settings of a PostgreSQL order book (the password stays in here). */
export interface PgSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  ssl: PgSsl;
  /** ms; 0 leaves the server's default. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Server options (`-c search_path=...`), from the URL's `options` parameter. */
  options?: string;
  applicationName: string;
}

/** Where the order book lives. */
export type DbTarget =
  | { kind: 'sqlite'; path: string; location: string; localPath: string }
  | { kind: 'postgres'; pg: PgSettings; location: string; localPath: string; hostPort: string };

const PG_SCHEME = /^postgres(?:ql)?:\/\//i;
const ANY_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Default statement timeout: long enough for a day's bill of millions of rows, short of forever. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10 * 60_000;

/** A PostgreSQL URL with its password (and any password parameter) masked. */
export function maskDbUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

function nonNegativeInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw configError(`${what} must be a whole number of milliseconds (got "${value.slice(0, 20)}")`);
  return n;
}

function sslFrom(mode: string | undefined, rootCert: string | undefined, baseDir: string, env: Env): PgSsl {
  const m = (mode ?? 'prefer').toLowerCase();
  const ca = rootCert ? resolveReference(`file:${rootCert}`, { baseDir, env, where: 'sslrootcert' }) : undefined;
  switch (m) {
    case 'disable':
    case 'allow':
    case 'prefer':
      // node-postgres cannot fall back from TLS to plain text, so the opportunistic modes (libpq's
      // default `prefer`) connect in plain text; ask for `require` or stronger to get TLS.
      return false;
    case 'require':
      // libpq's `require` checks the chain only when a root certificate is given.
      return ca ? { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
    default:
      throw configError(`sslmode "${mode}" is not one of disable, allow, prefer, require, verify-ca, verify-full`);
  }
}

/** Parses a PostgreSQL URL into settings; the password from the URL (literal, env: or file:) or PGPASSWORD. */
export function parsePgUrl(value: string, env: Env = process.env, baseDir = process.cwd()): PgSettings {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw configError(`--db ${maskDbUrl(value)} is not a valid PostgreSQL URL`, { hint: 'Write it as postgres://user@host:5432/database (the password from PGPASSWORD or env:NAME).' });
  }
  const q = u.searchParams;
  let password = u.password ? decodeURIComponent(u.password) : (q.get('password') ?? undefined);
  if (password && (password.startsWith('env:') || password.startsWith('file:'))) password = resolveReference(password, { baseDir, env, where: 'the database password' });
  password ||= env.PGPASSWORD || undefined;
  registerSecret(password);
  const timeout = q.get('statement_timeout') ?? env.PAY_PG_STATEMENT_TIMEOUT_MS;
  const connect = q.get('connect_timeout');
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || env.PGHOST || 'localhost',
    port: u.port ? Number(u.port) : Number(env.PGPORT || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || env.PGDATABASE || decodeURIComponent(u.username) || 'postgres',
    user: decodeURIComponent(u.username) || env.PGUSER || 'postgres',
    password,
    ssl: sslFrom(q.get('sslmode') ?? env.PGSSLMODE, q.get('sslrootcert') ?? undefined, baseDir, env),
    statementTimeoutMs: timeout === undefined || timeout === '' ? DEFAULT_STATEMENT_TIMEOUT_MS : nonNegativeInt(timeout, 'statement_timeout (PAY_PG_STATEMENT_TIMEOUT_MS)'),
    // libpq's connect_timeout is in seconds.
    connectTimeoutMs: connect ? nonNegativeInt(connect, 'connect_timeout') * 1000 : 10_000,
    options: q.get('options') ?? undefined,
    applicationName: q.get('application_name') ?? 'pay',
  };
}

/**
 * The database `value` names (already chosen among --db, $PAY_DB and the config), or the default
 * SQLite file in the data directory. `baseDir` resolves relative paths and `file:` references.
 */
export function resolveDbTarget(value: string | undefined, env: Env = process.env, baseDir = process.cwd()): DbTarget {
  if (value && PG_SCHEME.test(value)) {
    const pg = parsePgUrl(value, env, baseDir);
    const hostPort = `${pg.host.includes(':') ? `[${pg.host}]` : pg.host}:${pg.port}`;
    // Channel state and downloaded bills are local files: they sit in the data directory, under
    // a name for this server and database.
    const local = `postgres-${pg.host}-${pg.port}-${pg.database}`.replace(/[^A-Za-z0-9._-]/g, '_');
    return { kind: 'postgres', pg, location: maskDbUrl(value), localPath: join(dataDir(env), `${local}.db`), hostPort };
  }
  const scheme = value ? ANY_SCHEME.exec(value) : null;
  if (scheme) {
    throw configError(`--db names a ${scheme[1]}:// URL; pay stores orders in PostgreSQL (postgres://...) or in a SQLite file`, {
      hint: 'Give a postgres:// or postgresql:// URL, or a file path. Nothing was created.',
    });
  }
  const path = value ? resolve(baseDir, value) : join(dataDir(env), 'pay.db');
  return { kind: 'sqlite', path, location: path, localPath: path };
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  clock?: Clock;
  /** Apply pending migrations (default). False only opens (`pay db migrate` looks first). */
  migrate?: boolean;
  /** A missing SQLite file is an error (read-only commands, query, refund); nothing is created. */
  mustExist?: boolean;
  /** Create missing folders above a new SQLite file (pay's default location, or PAY_DB_CREATE_DIRS=1). */
  createDirs?: boolean;
  /** SQLite busy timeout (PAY_DB_BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

/** Opens (creating and migrating as needed) the order book a target names. */
export async function openStore(target: DbTarget, options: OpenStoreOptions = {}): Promise<Store> {
  if (target.kind === 'postgres') {
    const { PgStore } = await import('./pg-store.js');
    return PgStore.open(target.pg, { clock: options.clock, location: target.location, hostPort: target.hostPort, migrate: options.migrate });
  }
  const { SqliteStore } = await import('./sqlite-store.js');
  return SqliteStore.open(target.path, {
    clock: options.clock,
    migrate: options.migrate,
    mustExist: options.mustExist,
    createDirs: options.createDirs,
    busyTimeoutMs: options.busyTimeoutMs,
  });
}
