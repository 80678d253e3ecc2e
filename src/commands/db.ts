/**
 * `pay db migrate | status | copy`: the order book itself, on whichever backend `--db` (or
 * `--from` / `--to`) names, through the store contracts. Locations show the password masked.
 */
import { invalid } from '../core/errors.js';
import type { Presentation } from '../output/render.js';
import { BOOK_TABLES, type CopyCounts, type TableCounts } from '../store/admin.js';
import type { DbTarget } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { Context } from './context.js';

/** Output of `db migrate` and `db status`. */
export interface DbStatus {
  location: string;
  backend: DbTarget['kind'];
  schemaVersion: number;
  /** The newest schema this pay knows. */
  latestVersion: number;
  /** `db migrate`: the version found before. */
  fromVersion?: number;
  counts: TableCounts;
}

async function latestVersion(): Promise<number> {
  const { MIGRATIONS } = await import('../store/migrations.js');
  return MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0);
}

async function statusOf(store: Store, target: DbTarget): Promise<DbStatus> {
  const { countRows } = await import('../store/admin.js');
  const admin = await store.admin();
  try {
    return { location: target.location, backend: target.kind, schemaVersion: await admin.schemaVersion(), latestVersion: await latestVersion(), counts: await countRows(admin) };
  } finally {
    await admin.close();
  }
}

/** Creates or upgrades the schema (every command also does on first use). */
export async function dbMigrate(ctx: Context): Promise<DbStatus> {
  const { openStore } = await import('../store/open.js');
  const target = ctx.dbTarget();
  // Look without migrating, then open as every command does.
  const before = await openStore(target, { clock: ctx.clock, migrate: false });
  let fromVersion: number;
  try {
    const admin = await before.admin();
    fromVersion = await admin.schemaVersion().finally(() => admin.close());
  } finally {
    await before.close();
  }
  return { ...(await statusOf(await ctx.store(), target)), fromVersion };
}

/** Location, schema version and row counts. */
export async function dbStatus(ctx: Context): Promise<DbStatus> {
  return statusOf(await ctx.store(), ctx.dbTarget());
}

export interface CopyOptions {
  from?: string;
  to?: string;
}

/** Output of `db copy`. */
export interface CopyResult {
  from: string;
  to: string;
  /** Rows written now (a rerun writes none). */
  copied: CopyCounts;
  /** Rows in the target afterwards. */
  counts: TableCounts;
}

/** Copies one order book into another, idempotently. */
export async function dbCopy(opts: CopyOptions, ctx: Context): Promise<CopyResult> {
  if (!opts.from || !opts.to) throw invalid('give both books: pay db copy --from <path-or-url> --to <path-or-url>');
  const { openStore, resolveDbTarget } = await import('../store/open.js');
  const { copyBook, countRows } = await import('../store/admin.js');
  const from = resolveDbTarget(opts.from, ctx.env, ctx.cwd);
  const to = resolveDbTarget(opts.to, ctx.env, ctx.cwd);
  if (from.location === to.location) throw invalid(`--from and --to name the same order book (${from.location})`);
  if (from.kind === 'sqlite') {
    const { existsSync } = await import('node:fs');
    if (!existsSync(from.path)) throw invalid(`--from ${from.path} does not exist`, { hint: 'Give the SQLite file to copy from (pay db status --db <file> shows what is in one).' });
  }
  const source = await openStore(from, { clock: ctx.clock });
  try {
    const target = await openStore(to, { clock: ctx.clock });
    try {
      const a = await source.admin();
      const b = await target.admin();
      try {
        ctx.notice(`copying ${from.location} -> ${to.location}`);
        const copied = await copyBook(a, b);
        return { from: from.location, to: to.location, copied, counts: await countRows(b) };
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

const TABLE_TITLE: Record<(typeof BOOK_TABLES)[number], string> = {
  orders: 'orders',
  refunds: 'refunds',
  callbacks: 'callbacks',
  events: 'events',
  reconcile_runs: 'reconciliation runs',
  reconcile_items: 'reconciliation items',
};

/** Output of `db status` and `db migrate`. */
export function presentStatus(r: DbStatus): Presentation {
  const schema = `${r.schemaVersion} (this pay: ${r.latestVersion})${r.fromVersion !== undefined && r.fromVersion !== r.schemaVersion ? `, migrated from ${r.fromVersion}` : ''}`;
  return {
    json: r,
    blocks: [
      {
        kind: 'fields',
        fields: [['location', r.location], ['backend', r.backend === 'postgres' ? 'PostgreSQL' : 'SQLite'], ['schema version', schema], ...BOOK_TABLES.map((t) => [TABLE_TITLE[t], r.counts[t].toLocaleString('en-US')] as [string, string])],
      },
    ],
  };
}

/** Output of `db copy`. */
export function presentCopy(r: CopyResult): Presentation {
  return {
    json: r,
    blocks: [
      { kind: 'fields', fields: [['from', r.from], ['to', r.to]] },
      {
        kind: 'table',
        columns: [
          { key: 'table', header: 'table' },
          { key: 'copied', header: 'copied', align: 'right' },
          { key: 'total', header: 'now in target', align: 'right' },
        ],
        rows: BOOK_TABLES.map((t) => ({ table: TABLE_TITLE[t], copied: r.copied[t].toLocaleString('en-US'), total: r.counts[t].toLocaleString('en-US') })),
      },
      { kind: 'text', tone: 'dim', text: 'Rows already in the target are kept as they are; running the copy again copies nothing twice.' },
    ],
  };
}
