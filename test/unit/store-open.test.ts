import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/commands/context.js';
import { PayError } from '../../src/core/errors.js';
import { redactText } from '../../src/core/redact.js';
import { DEFAULT_STATEMENT_TIMEOUT_MS, maskDbUrl, resolveDbTarget } from '../../src/store/open.js';
import { tempDir } from '../helpers/cli.js';

describe('choosing the order book', () => {
  it('takes postgres:// and postgresql:// URLs as PostgreSQL, with the password masked in the location', () => {
    const t = resolveDbTarget('postgres://pay:s3cret-pass-word@db.internal:6543/payments?sslmode=require', {}, '/cwd');
    expect(t).toMatchObject({ kind: 'postgres', location: 'postgres://pay:***@db.internal:6543/payments?sslmode=require', hostPort: 'db.internal:6543' });
    if (t.kind !== 'postgres') throw new Error('not postgres');
    expect(t.pg).toMatchObject({ host: 'db.internal', port: 6543, database: 'payments', user: 'pay', password: 's3cret-pass-word', ssl: { rejectUnauthorized: false } });
    expect(t.localPath).not.toContain('s3cret');
    // The password is registered: no message can show it.
    expect(redactText('failed with s3cret-pass-word')).not.toContain('s3cret-pass-word');
    expect(resolveDbTarget('POSTGRESQL://u@h/d', {}, '/cwd').kind).toBe('postgres');
  });

  it('reads the password from PGPASSWORD or an env:/file: reference, never from the location', () => {
    const env = { PGPASSWORD: 'from-pgpassword-1', PAY_PG_PASSWORD: 'from-env-ref-12345' };
    const a = resolveDbTarget('postgres://pay@h/d', env, '/cwd');
    const b = resolveDbTarget('postgres://pay:env:PAY_PG_PASSWORD@h/d', env, '/cwd');
    const t = tempDir();
    writeFileSync(join(t.dir, 'pw'), 'from-file-ref-12345\n');
    const c = resolveDbTarget('postgres://pay:file:pw@h/d', env, t.dir);
    t.cleanup();
    expect([a, b, c].map((x) => (x.kind === 'postgres' ? x.pg.password : undefined))).toEqual(['from-pgpassword-1', 'from-env-ref-12345', 'from-file-ref-12345']);
    expect(b.location).toBe('postgres://pay:***@h/d');
    expect(() => resolveDbTarget('postgres://pay:env:NOPE@h/d', {}, '/cwd')).toThrow(/NOPE, which is not set/);
  });

  it('honours sslmode and the statement timeout', () => {
    const pg = (url: string, env = {}) => {
      const t = resolveDbTarget(url, env, '/cwd');
      if (t.kind !== 'postgres') throw new Error('not postgres');
      return t.pg;
    };
    expect(pg('postgres://h/d').ssl).toBe(false);
    expect(pg('postgres://h/d?sslmode=disable').ssl).toBe(false);
    expect(pg('postgres://h/d?sslmode=verify-full').ssl).toEqual({ rejectUnauthorized: true });
    expect(pg('postgres://h/d', { PGSSLMODE: 'require' }).ssl).toEqual({ rejectUnauthorized: false });
    expect(() => pg('postgres://h/d?sslmode=sometimes')).toThrow(/sslmode "sometimes"/);
    expect(pg('postgres://h/d').statementTimeoutMs).toBe(DEFAULT_STATEMENT_TIMEOUT_MS);
    expect(pg('postgres://h/d?statement_timeout=1500').statementTimeoutMs).toBe(1500);
    expect(pg('postgres://h/d', { PAY_PG_STATEMENT_TIMEOUT_MS: '2500' }).statementTimeoutMs).toBe(2500);
    expect(() => pg('postgres://h/d?statement_timeout=soon')).toThrow(PayError);
  });

  it('refuses any other URL with exit 2, naming only its scheme, and creates nothing', () => {
    const t = tempDir();
    for (const url of ['mysql://root:hunter2-secret@h/db', 'file:///tmp/x.db', 'sqlite://x.db']) {
      let err: unknown;
      try {
        resolveDbTarget(url, {}, t.dir);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PayError);
      expect((err as PayError).exitCode).toBe(2);
      expect((err as PayError).message).not.toContain('hunter2');
    }
    expect(readdirSync(t.dir)).toEqual([]);
    t.cleanup();
  });

  it('takes anything else as a SQLite path', () => {
    expect(resolveDbTarget('books/pay.db', {}, '/cwd')).toMatchObject({ kind: 'sqlite', path: '/cwd/books/pay.db', location: '/cwd/books/pay.db' });
    expect(resolveDbTarget(undefined, { XDG_DATA_HOME: '/x' }, '/cwd')).toMatchObject({ kind: 'sqlite', path: '/x/pay/pay.db' });
    expect(maskDbUrl('postgresql://a:b@h/d?password=zz&x=1')).toBe('postgresql://a:***@h/d?password=***&x=1');
  });

  it('takes the config\'s "db" when neither --db nor $PAY_DB names a book, relative to the config file', () => {
    const t = tempDir();
    const config = join(t.dir, 'conf', 'pay.config.json');
    const make = (db: string, extra: Record<string, string> = {}) => {
      writeFileSync(config, JSON.stringify({ db, channels: {} }));
      return createContext({ cwd: t.dir, env: { PAY_CONFIG: config, ...extra }, stdout: new PassThrough(), stderr: new PassThrough(), interactive: false });
    };
    mkdirSync(join(t.dir, 'conf'));
    expect(make('books/pay.db').dbPath).toBe(join(t.dir, 'conf', 'books', 'pay.db'));
    expect(make('postgres://pay:pw-in-config-1234@h:5433/d').dbPath).toBe('postgres://pay:***@h:5433/d');
    expect(make('books/pay.db', { PAY_DB: 'env.db' }).dbPath).toBe(join(t.dir, 'env.db'));
    expect(() => make('redis://h/0').dbPath).toThrow(/redis:\/\/ URL/);
    expect(readdirSync(t.dir)).toEqual(['conf']);
    t.cleanup();
  });
});
