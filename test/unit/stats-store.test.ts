/**
 * The StatsStore contract (test/helpers/stats-store-suite.ts) on every backend (BACKENDS: SQLite,
 * and PostgreSQL when PAY_TEST_PG_URL is set), each reached as a command reaches it: `Store.stats()`
 * of a store opened from a `--db` value.
 */
import { openStore, resolveDbTarget } from '../../src/store/open.js';
import { BACKENDS } from '../helpers/backends.js';
import { statsStoreSuite } from '../helpers/stats-store-suite.js';

for (const backend of BACKENDS) {
  statsStoreSuite(backend.name, async () => {
    const fresh = await backend.fresh();
    const store = await openStore(resolveDbTarget(fresh.db));
    return {
      store,
      stats: await store.stats(),
      close: async () => {
        await store.close();
        await fresh.cleanup();
      },
    };
  });
}
