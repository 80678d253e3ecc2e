/**
 * What is SQLite's own in the StatsStore (the shared contract runs on every backend in
 * stats-store.test.ts): migration 4 fills the channel-calls table from events written before it,
 * and the trigger keeps it in step.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { SqliteStatsStore } from '../../src/store/sqlite-stats-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/cli.js';

describe('migration 4 on a book with history', () => {
  it('copies the channel calls already in the event log, then follows new ones', async () => {
    const tmp = tempDir('pay-stats-migrate-');
    try {
      const path = join(tmp.dir, 'pay.db');
      const old = SqliteStore.open(path, { migrations: MIGRATIONS.filter((m) => m.version < 4) });
      await old.appendEvent({ type: 'channel.call', channel: 'mock', at: '2026-12-01T00:00:00.000Z', data: { operation: 'mock.collect', durationMs: 12.345, error: { code: 'TIMEOUT', message: 'x' } } });
      await old.appendEvent({ type: 'order.status', channel: 'mock', data: { from: 'created', to: 'pending' } });
      await old.close();
      const store = SqliteStore.open(path);
      await store.appendEvent({ type: 'channel.call', channel: 'mock', at: '2026-12-02T00:00:00.000Z', data: { operation: 'mock.query', durationMs: 3 } });
      const stats = new SqliteStatsStore(store);
      expect(await stats.callGroups({})).toEqual([
        { channel: 'mock', operation: 'mock.collect', calls: 1, errors: 1, failures: 1 },
        { channel: 'mock', operation: 'mock.query', calls: 1, errors: 0, failures: 0 },
      ]);
      expect((await stats.callLatencies({ channel: 'mock' })).map((l) => l.ms).sort()).toEqual([12.3, 3].sort());
      await store.close();
    } finally {
      tmp.cleanup();
    }
  });
});
