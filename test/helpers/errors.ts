/**
 * Catching the PayError a call is expected to fail with, for tests that then assert its code,
 * exit status, message and hint.
 */
import { isPayError, type PayError } from '../../src/core/errors.js';

/**
 * Awaits `p` and returns the PayError it rejects with. Resolving fails the test; rejecting with
 * anything else rethrows it as it is (its own message and stack say what went wrong).
 */
export async function caught(p: Promise<unknown>): Promise<PayError> {
  try {
    await p;
  } catch (err) {
    if (isPayError(err)) return err;
    throw err;
  }
  throw new Error('expected a PayError, but the call succeeded');
}
