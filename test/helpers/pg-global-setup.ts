/**
 * Vitest global setup: without PAY_TEST_PG_URL the PostgreSQL tests are skipped with one line
 * saying how to run them; in CI (CI=true) a missing server fails the run instead.
 */
import { PG_HOWTO } from './backends.js';

export default function setup(): void {
  if (process.env.PAY_TEST_PG_URL) return;
  if (process.env.CI === 'true') {
    throw new Error('CI=true but PAY_TEST_PG_URL is not set: PostgreSQL did not start. Run the tests under scripts/pg-cluster run npm test (as .ci/run does).');
  }
  process.stdout.write(`${PG_HOWTO}\n`);
}
