/**
 * The PostgreSQL connection every PostgreSQL store module shares (order store, reconciliation,
 * import, and whatever contract comes next): a node-postgres pool, transactions, versioned
 * migrations under an advisory lock, and driver errors mapped to errors a user can act on (the
 * server named by host:port, never by its password). Loaded only for a PostgreSQL URL.
 */
import pg from 'pg';
import { configError, PayError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { isoUtc, systemClock, type Clock } from '../core/time.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import type { PgSettings } from './open.js';
import type { NewEvent } from './store.js';

/** A client checked out of the pool (or the pool itself) to run queries on. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Options for {@link PgDb.open}. */
export interface PgDbOptions {
  clock?: Clock;
  /** The URL with its password masked, for messages. */
  location: string;
  /** `host:port`, for messages. */
  hostPort: string;
  /** Apply pending migrations (default true); false only checks the schema is not newer. */
  migrate?: boolean;
  /** Migrations (tests pass their own); default {@link MIGRATIONS}. */
  migrations?: Migration[];
  /** Most connections held at once (default 4). */
  maxConnections?: number;
}

/** BIGINT and NUMERIC come back as strings by default; pay's are integers of safe size. */
function toNumber(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new PayError('SYSTEM_ERROR', `PostgreSQL returned ${text}, beyond the integers pay can hold`);
  return n;
}
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 || oid === 1700 ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** `?` placeholders of portable SQL (none sit inside string literals there) as `$1`, `$2`... */
export function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Connections with an 'error' listener of ours. */
const HEARD = new WeakSet<pg.PoolClient>();

/** Lock id of the schema migration (any constant; "pay" in ASCII). */
const MIGRATION_LOCK = 0x706179;

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

/** True when `err` says the connection to the server failed or was lost. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08') || e.code === '57P01' || e.code === '57P02' || e.code === '57P03')) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect/i.test(e?.message ?? '');
}

/** Appends an event on `q` (inside the caller's transaction). */
export async function insertEvent(q: Queryable, e: NewEvent, now: string): Promise<void> {
  await q.query('INSERT INTO events (at, type, channel, order_no, refund_no, data) VALUES ($1, $2, $3, $4, $5, $6)', [
    e.at ?? now,
    e.type,
    e.channel ?? null,
    e.orderNo ?? null,
    e.refundNo ?? null,
    JSON.stringify(redact(e.data ?? {})),
  ]);
}

/**
 * One connection of its own, for work that spans statements on it (temporary tables, a
 * transaction around steps): driver errors mapped, and a connection that broke destroyed on
 * release instead of going back to the pool.
 */
export class PgSession {
  private broken: Error | undefined;
  private released = false;

  constructor(
    readonly db: PgDb,
    readonly client: pg.PoolClient,
  ) {}

  /** Runs `fn`, mapping driver errors and remembering a lost connection. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = this.db.error(err);
      if (isConnectionError(err)) this.broken = err as Error;
      throw mapped;
    }
  }

  /** One statement; `?` placeholders when `portable`, else `$n`. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = [], portable = false): Promise<pg.QueryResult<R>> {
    return this.guard(() => this.client.query<R>(portable ? numbered(sql) : sql, params));
  }

  /** Rows of one statement. */
  async q<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    return (await this.query<R>(sql, params)).rows;
  }

  /** BEGIN .. COMMIT around `fn`; ROLLBACK on any error. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.query('BEGIN');
    try {
      const out = await fn();
      await this.query('COMMIT');
      return out;
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  /** Marks the connection unusable (e.g. a COPY left open), so release destroys it. */
  abandon(reason: string): void {
    this.broken ??= new Error(reason);
  }

  get usable(): boolean {
    return !this.broken && !this.released;
  }

  /** Returns the connection to the pool, or destroys it when it broke. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.client.release(this.broken);
  }
}

/** The shared PostgreSQL connection pool of one order book. */
export class PgDb {
  readonly location: string;
  readonly hostPort: string;
  readonly pool: pg.Pool;
  private readonly clock: Clock;
  private connected = false;

  private constructor(pool: pg.Pool, options: PgDbOptions) {
    this.pool = pool;
    this.location = options.location;
    this.hostPort = options.hostPort;
    this.clock = options.clock ?? systemClock;
  }

  /** Connects (exit 3 naming host:port when the server cannot be reached) and migrates. */
  static async open(settings: PgSettings, options: PgDbOptions): Promise<PgDb> {
    const pool = new pg.Pool({
      host: settings.host,
      port: settings.port,
      database: settings.database,
      user: settings.user,
      password: settings.password,
      ssl: settings.ssl,
      options: settings.options,
      application_name: settings.applicationName,
      statement_timeout: settings.statementTimeoutMs || undefined,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      max: options.maxConnections ?? 4,
      types: TYPES,
    });
    // An idle connection the server drops must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const db = new PgDb(pool, options);
    try {
      await db.migrate(options.migrations ?? MIGRATIONS, options.migrate ?? true);
      return db;
    } catch (err) {
      await pool.end().catch(() => {});
      throw db.error(err);
    }
  }

  now(): string {
    return isoUtc(this.clock());
  }

  /** Maps a driver error to a PayError that names the server, never its password. */
  error(err: unknown): unknown {
    if (err instanceof PayError) return err;
    const e = err as { code?: string; message?: string };
    const detail = e?.code ?? e?.message ?? String(err);
    if (isConnectionError(err)) {
      return new PayError(
        'SYSTEM_ERROR',
        this.connected
          ? `lost the connection to PostgreSQL at ${this.hostPort} (${detail}); the transaction was rolled back`
          : `cannot reach PostgreSQL at ${this.hostPort} (${detail})`,
        { cause: err, hint: this.connected ? 'Nothing of this command was saved; run it again once the server is back.' : 'Check that the server is running and the host and port in --db / PAY_DB are right.' },
      );
    }
    if (e?.code === '28P01' || e?.code === '28000') {
      return new PayError('AUTHENTICATION_FAILED', `PostgreSQL at ${this.hostPort} refused the login (${e.code})`, { cause: err, hint: 'Check the user, and the password in the URL, PGPASSWORD or the env:/file: reference.' });
    }
    if (e?.code === '3D000') return configError(`PostgreSQL at ${this.hostPort}: ${e.message}`, { cause: err, hint: 'Create the database first (createdb), or fix the name in --db.' });
    if (e?.code === '57014') return new PayError('TIMEOUT', `PostgreSQL at ${this.hostPort} cancelled a statement that ran past the statement timeout`, { cause: err, hint: 'Raise it with PAY_PG_STATEMENT_TIMEOUT_MS or ?statement_timeout= in the URL (ms).' });
    return new PayError('SYSTEM_ERROR', `PostgreSQL at ${this.hostPort}: ${e?.message ?? String(err)}${e?.code ? ` (${e.code})` : ''}`, { cause: err });
  }

  /** One statement on any pooled connection. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw this.error(err);
    }
  }

  /** A session on a connection of its own (temporary tables live on one connection). */
  async session(): Promise<PgSession> {
    return new PgSession(this, await this.connect());
  }

  /** A connection of its own; release it when done. */
  async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.error(err);
    }
    // A checked-out connection the server drops emits 'error'; unheard, that would end the
    // process. The query in flight fails with it, and is reported from there.
    if (!HEARD.has(client)) {
      HEARD.add(client);
      client.on('error', () => {});
    }
    return client;
  }

  /** Runs `fn` in a transaction on `client` (default: a pooled connection); rolls back on any error. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>, client?: pg.PoolClient): Promise<T> {
    const c = client ?? (await this.connect());
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      if (isConnectionError(err)) broken ??= err as Error;
      throw this.error(err);
    } finally {
      // A connection that failed mid-transaction is destroyed, not reused.
      if (!client) c.release(broken);
    }
  }

  /** The schema version recorded, 0 for an empty database. */
  async schemaVersion(q: Queryable = this.pool): Promise<number> {
    const r = await q.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    if (!r.rows[0].t) return 0;
    return (await q.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v;
  }

  private newerError(have: number, latest: number): PayError {
    return configError(`database ${this.location} was written by a newer pay (schema ${have}, this pay knows ${latest})`, { hint: 'Upgrade pay, or use another --db.' });
  }

  /**
   * Applies pending migrations in one transaction under an advisory lock, so processes starting
   * at once migrate once; a schema newer than this pay is refused before anything is written.
   */
  private async migrate(migrations: Migration[], apply: boolean): Promise<void> {
    const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    const have = await this.schemaVersion();
    this.connected = true;
    if (have > latest) throw this.newerError(have, latest);
    if (have === latest || !apply) return;
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const now = await this.schemaVersion(c);
      if (now > latest) throw this.newerError(now, latest);
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= now) continue;
        if (!m.pg) throw new PayError('SYSTEM_ERROR', `migration ${m.version} has no PostgreSQL text`);
        await c.query(m.pg);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, this.now()]);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}
