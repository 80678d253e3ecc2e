/**
 * What only PostgreSQL has: migrations raced by several openers at once (the advisory lock), the
 * statement timeout, and errors that name the server but never its password. Skipped without
 * PAY_TEST_PG_URL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayError } from '../../src/core/errors.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import { PgStore } from '../../src/store/pg-store.js';
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

  it('migration 4 copies the channel calls already in the event log, then its trigger follows new ones', async () => {
    const target = resolveDbTarget(fresh.db);
    if (target.kind !== 'postgres') throw new Error('expected a PostgreSQL target');
    const where = { location: target.location, hostPort: target.hostPort };
    const old = await PgStore.open(target.pg, { ...where, migrations: MIGRATIONS.filter((m) => m.version < 4) });
    await old.appendEvent({ type: 'channel.call', channel: 'mock', at: '2026-12-01T00:00:00.000Z', data: { operation: 'mock.collect', durationMs: 12.345, error: { code: 'TIMEOUT', message: 'x' } } });
    await old.appendEvent({ type: 'order.status', channel: 'mock', data: { from: 'created', to: 'pending' } });
    await old.close();
    const store = await PgStore.open(target.pg, where);
    try {
      await store.appendEvent({ type: 'channel.call', channel: 'mock', at: '2026-12-02T00:00:00.000Z', data: { operation: 'mock.query', durationMs: 3 } });
      // Not a number: kept as a call without a duration, the event still written.
      await store.appendEvent({ type: 'channel.call', channel: 'mock', at: '2026-12-03T00:00:00.000Z', data: { operation: 'mock.close', durationMs: 'soon' } });
      const rows = await pgSql(fresh.db, 'SELECT channel, operation, error_code, duration_ms FROM channel_calls ORDER BY event_id');
      expect(rows).toEqual([
        { channel: 'mock', operation: 'mock.collect', error_code: 'TIMEOUT', duration_ms: 12.3 },
        { channel: 'mock', operation: 'mock.query', error_code: null, duration_ms: 3 },
        { channel: 'mock', operation: 'mock.close', error_code: null, duration_ms: null },
      ]);
      expect((await store.listEvents({ type: 'channel.call' })).length).toBe(3);
    } finally {
      await store.close();
    }
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
