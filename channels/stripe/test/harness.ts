/**
 * Test harness for the Stripe channel: the real sandbox framework serving the Stripe simulator
 * on a loopback port, the shared undici client, and an adapter created through the channel
 * module exactly as the registry does (config validated first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCallRecord, ChannelDeps } from '../../../src/channel/contract.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/server.js';
import { createHttpClient, type UndiciHttpClient } from '../../../src/channel/undici-http-client.js';
import type { HttpClientOptions } from '../../../src/channel/http-client.js';
import stripe from '../index.js';
import type { StripeAdapter } from '../adapter.js';
import { simulator, type StripeSimulator } from '../sandbox/index.js';

export interface StripeHarness {
  sandbox: RunningSandbox;
  sim: StripeSimulator;
  baseUrl: string;
  profile: Record<string, unknown>;
  http: UndiciHttpClient;
  records: ChannelCallRecord[];
  /** An adapter over the simulator, with settings laid over the sandbox profile. */
  adapter(overrides?: Record<string, unknown>): Promise<StripeAdapter>;
  close(): Promise<void>;
}

export async function startStripeHarness(options: { http?: HttpClientOptions; webhookUrl?: string } = {}): Promise<StripeHarness> {
  const sandbox = await startSandbox({ channels: ['stripe'], simulators: { stripe: simulator }, webhookUrl: options.webhookUrl });
  const ch = sandbox.channels.stripe;
  const http = createHttpClient({ backoffMs: 20, maxAttempts: 3, ...(options.http ?? {}) });
  const records: ChannelCallRecord[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'pay-stripe-test-'));
  const deps: ChannelDeps = {
    stateDir,
    record: (e) => records.push(e),
    clock: () => Date.now(),
    http: async () => http,
    env: {},
    debug: () => {},
  };
  return {
    sandbox,
    sim: ch.simulator as StripeSimulator,
    baseUrl: ch.baseUrl,
    profile: ch.profile,
    http,
    records,
    async adapter(overrides = {}) {
      const config = stripe.validateConfig({ ...ch.profile, ...overrides });
      return (await stripe.create(config, deps)) as StripeAdapter;
    },
    async close() {
      await http.close();
      await sandbox.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
