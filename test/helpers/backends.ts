/**
 * The order-store backends a contract test runs against: SQLite always, PostgreSQL when
 * PAY_TEST_PG_URL names a server (`scripts/pg-cluster run npm test` starts a throwaway one; CI
 * does). Each test gets a fresh, empty database: a temporary SQLite file, or a PostgreSQL schema
 * of its own (the URL's `options` sets its search_path), dropped afterwards.
 */
import { join } from 'node:path';
import pg from 'pg';
import { tempDir } from './cli.js';

/** The PostgreSQL server of the test run, if any. */
export const PG_URL = process.env.PAY_TEST_PG_URL || undefined;

/** How to run the PostgreSQL tests, for the one line a run without them prints. */
export const PG_HOWTO = 'PostgreSQL tests skipped: PAY_TEST_PG_URL is not set (run them with: scripts/pg-cluster run npm test)';

/** A fresh database: the `--db` value and how to drop it. */
export interface FreshDb {
  db: string;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  fresh(): Promise<FreshDb>;
  /** Runs raw SQL on a fresh database (for checks the contract has no method for). */
  sql(db: string, text: string): Promise<Record<string, unknown>[]>;
}

let schemas = 0;

/** A PostgreSQL URL whose connections use `schema`. */
export function pgUrlFor(schema: string, base = PG_URL!): string {
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

/** Runs `text` on the database a (PostgreSQL) URL names. */
export async function pgSql(url: string, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const u = new URL(url);
  const client = new pg.Client({ connectionString: url.replace(/\?.*$/, ''), options: u.searchParams.get('options') ?? undefined });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh schema on the test server. */
export async function freshPgSchema(): Promise<FreshDb> {
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${++schemas}`;
  await pgSql(PG_URL!, `CREATE SCHEMA ${schema}`);
  return { db: pgUrlFor(schema), cleanup: async () => void (await pgSql(PG_URL!, `DROP SCHEMA ${schema} CASCADE`)) };
}

const sqlite: Backend = {
  name: 'sqlite',
  async fresh() {
    const t = tempDir();
    return { db: join(t.dir, 'pay.db'), cleanup: async () => t.cleanup() };
  },
  async sql(db, text) {
    const { default: Database } = await import('better-sqlite3');
    const d = new Database(db);
    try {
      const stmt = d.prepare(text);
      return stmt.reader ? (stmt.all() as Record<string, unknown>[]) : (stmt.run(), []);
    } finally {
      d.close();
    }
  },
};

const postgres: Backend = {
  name: 'postgres',
  fresh: freshPgSchema,
  sql: (db, text) => pgSql(db, text),
};

/** Backends to run contract tests against. */
export const BACKENDS: Backend[] = PG_URL ? [sqlite, postgres] : [sqlite];
