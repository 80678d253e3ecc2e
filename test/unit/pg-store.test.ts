/**
 * What only PostgreSQL has: migrations raced by several openers at once (the advisory lock), the
 * statement timeout, and errors that name the server but never its password. Skipped without
 * PAY_TEST_PG_URL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import { freshPgSchema, PG_URL, pgSql, type FreshDb } from '../helpers/backends.js';

describe.skipIf(!PG_URL)('PgStore', () => {
  let fresh: FreshDb;
  beforeEach(async () => {
    fresh = await freshPgSchema();
  });
  afterEach(async () => {
    await fresh.cleanup();
  });

  it('migrates once when eight openers race on an empty database', async () => {
    const stores = await Promise.all(Array.from({ length: 8 }, () => openStore(resolveDbTarget(fresh.db))));
    await Promise.all(stores.map((s) => s.close()));
    const rows = await pgSql(fresh.db, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('cancels a statement past the statement timeout: exit 3, naming the setting', async () => {
    const store = await openStore(resolveDbTarget(`${fresh.db}&statement_timeout=50`));
    const admin = await store.admin();
    try {
      const err = await admin.all('SELECT pg_sleep(2)').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PayError);
      expect(err).toMatchObject({ code: 'TIMEOUT', exitCode: 3, message: expect.stringMatching(/statement timeout/) });
    } finally {
      await admin.close();
      await store.close();
    }
  });

  it('a wrong password is exit 3 naming host:port; the password appears nowhere', async () => {
    const u = new URL(fresh.db);
    u.password = 'not-the-password-1234';
    const err = (await openStore(resolveDbTarget(u.toString())).catch((e: unknown) => e)) as PayError;
    expect(err).toMatchObject({ code: 'AUTHENTICATION_FAILED', exitCode: 3 });
    expect(err.message).toContain(`${u.hostname}:${u.port}`);
    expect(JSON.stringify(err.toJSON())).not.toContain('not-the-password-1234');
  });
});
