/**
 * A damaged, locked or unreadable order book is exit 2 with what to do (never "a bug in pay"), and
 * nothing is created beside it; read-only commands never create a database; writing commands
 * create one only in a folder that exists (folders are made only for the default location).
 * Through the real binary (`npm run build` first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeAll(() => {
  tmp = tempDir('pay-db-errors-');
  env = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') };
});
afterAll(() => tmp.cleanup());

const create = (db: string, extra: Record<string, string> = {}) =>
  runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY', '--db', db], { env: { ...env, ...extra } });

/** A folder holding a pay database with a few orders, closed cleanly (no -wal file left). */
async function bookWithOrders(name: string): Promise<{ dir: string; db: string }> {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  const db = join(dir, 'pay.db');
  for (let i = 0; i < 3; i++) {
    const r = await create(db);
    expect(r.code, r.stderr).toBe(0);
  }
  return { dir, db };
}

/** Overwrites the pages of `table` (its root page and the one after) with garbage, as a bad disk would. */
function damagePages(db: string): void {
  const bytes = readFileSync(db);
  const pageSize = bytes.readUInt16BE(16);
  // The orders table is created first after schema_migrations: its root and index pages are 3 and 4.
  for (const page of [3, 4]) bytes.fill(0x5a, (page - 1) * pageSize, page * pageSize);
  writeFileSync(db, bytes);
}

describe('a damaged order book', () => {
  it('create and orders list: exit 2 with how to recover, and nothing created beside it', async () => {
    const { dir, db } = await bookWithOrders('damaged');
    // The mock keeps its books beside the database; start from a folder with only the database.
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'pay.channels'), { recursive: true, force: true });
    damagePages(db);
    const before = readdirSync(dir).sort();
    expect(before).toEqual(['pay.db']);

    const c = await create(db);
    expect(c.code, c.stderr).toBe(2);
    expect(c.stderr).toMatch(/CONFIG_ERROR.*database .*pay\.db is damaged/);
    expect(c.stderr).toMatch(/sqlite3 .*pay\.db \.recover \| sqlite3 recovered\.db/);
    expect(c.stderr).toMatch(/backup/);
    expect(c.stderr).not.toMatch(/bug in pay/);
    expect(readdirSync(dir).sort()).toEqual(before);

    const list = await runPayJson(['orders', 'list', '--db', db], { env });
    expect(list.code).toBe(2);
    expect(list.json.error).toMatchObject({ code: 'CONFIG_ERROR' });
    expect(list.json.error.hint).toMatch(/\.recover/);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

describe('a database locked for good by another process', () => {
  let holder: ChildProcess | undefined;
  afterAll(() => {
    holder?.kill('SIGKILL');
  });

  it('exit 2, saying who to look for, after the busy timeout', async () => {
    const { db } = await bookWithOrders('locked');
    // Another process takes the write lock and never lets go.
    holder = spawn(
      process.execPath,
      ['-e', "const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);", db],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder!.stdout!.once('data', () => resolve());
      holder!.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
    });
    const r = await create(db, { PAY_DB_BUSY_TIMEOUT_MS: '300' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/database .*pay\.db stayed locked by another process/);
    expect(r.stderr).toMatch(/fuser|lsof/);
    expect(r.stderr).not.toMatch(/bug in pay/);
  });
});

describe('an unreadable order book', () => {
  it('a folder where the database should be: exit 2', async () => {
    const dir = join(tmp.dir, 'a-folder.db');
    mkdirSync(dir);
    for (const args of [['orders', 'list'], ['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY']]) {
      const r = await runPay([...args, '--db', dir], { env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is a folder, not a file/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('a file pay may not read: exit 2 (skipped as root, who may read anything)', async () => {
    const { db } = await bookWithOrders('unreadable');
    chmodSync(db, 0o000);
    try {
      const r = await runPay(['orders', 'list', '--db', db], { env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/cannot open database/);
    } finally {
      chmodSync(db, 0o600);
    }
  });
});

describe('a missing order book', () => {
  it.each([
    [['orders', 'list']],
    [['orders', 'show', 'P20261123055601123ABCDEFGHJKMN']],
    [['reconcile', 'history']],
    [['reconcile', 'show', '1']],
    [['query', 'P20261123055601123ABCDEFGHJKMN', '--local']],
    [['query', 'P20261123055601123ABCDEFGHJKMN']],
    [['refund', 'P20261123055601123ABCDEFGHJKMN']],
  ])('pay %j says there is none (exit 2) and creates nothing', async (args) => {
    const base = join(tmp.dir, 'missing-read');
    for (const db of [join(base, 'no', 'such', 'dir', 'x.db'), join(tmp.dir, 'absent.db')]) {
      const r = await runPayJson([...args, '--db', db], { env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.json.error).toMatchObject({ code: 'CONFIG_ERROR' });
      expect(r.json.error.message).toMatch(/there is no order book at .*x?\.db/);
      expect(existsSync(db)).toBe(false);
    }
    expect(existsSync(base)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith('absent'))).toEqual([]);
  });

  it('a writing command creates the database in an existing folder, not missing folders', async () => {
    const dir = join(tmp.dir, 'writes');
    mkdirSync(dir);
    const deep = join(dir, 'not', 'there', 'pay.db');
    const refused = await create(deep);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/folder .*not\/there does not exist/);
    expect(refused.stderr).toMatch(/mkdir -p/);
    expect(existsSync(join(dir, 'not'))).toBe(false);

    const made = await create(join(dir, 'pay.db'));
    expect(made.code, made.stderr).toBe(0);
    expect(existsSync(join(dir, 'pay.db'))).toBe(true);

    // Asked for: the folders are made.
    const asked = await create(deep, { PAY_DB_CREATE_DIRS: '1' });
    expect(asked.code, asked.stderr).toBe(0);
    expect(existsSync(deep)).toBe(true);
  });

  it('the default location is created with its folders', async () => {
    const data = join(tmp.dir, 'fresh-home', 'share');
    const r = await runPay(['create', '--channel', 'mock', '--amount', '1.00', '--currency', 'CNY'], { env: { ...env, XDG_DATA_HOME: data } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(data, 'pay', 'pay.db'))).toBe(true);
  });
});
