/**
 * node-forge, loaded on first use (synchronously: PKCS#12 is read while a channel's config is
 * checked, and certificates are minted in the simulators' synchronous set-up).
 */
import { createRequire } from 'node:module';
import type Forge from 'node-forge';

let loaded: typeof Forge | undefined;

export function forge(): typeof Forge {
  loaded ??= createRequire(import.meta.url)('node-forge') as typeof Forge;
  return loaded;
}
