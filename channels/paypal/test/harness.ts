/**
 * Test harness for the PayPal channel: the real sandbox framework serving the PayPal simulator on
 * a loopback port, the shared undici client, and adapters created through the channel module as
 * the registry does (config validated first).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCallRecord, ChannelDeps } from '../../../src/channel/contract.js';
import type { HttpClientOptions } from '../../../src/channel/http-client.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/server.js';
import type { SimulatorModule } from '../../../src/sandbox/contract.js';
import { createHttpClient, type UndiciHttpClient } from '../../../src/channel/undici-http-client.js';
import paypal from '../index.js';
import type { PaypalAdapter } from '../adapter.js';
import { createPaypalSimulator, type PaypalSimulator, type PaypalSimulatorOptions } from '../sandbox/index.js';

export interface PaypalHarness {
  sandbox: RunningSandbox;
  sim: PaypalSimulator;
  baseUrl: string;
  profile: Record<string, unknown>;
  http: UndiciHttpClient;
  records: ChannelCallRecord[];
  adapter(overrides?: Record<string, unknown>): Promise<PaypalAdapter>;
  close(): Promise<void>;
}

export async function startPaypalHarness(options: { http?: HttpClientOptions; webhookUrl?: string; sim?: PaypalSimulatorOptions } = {}): Promise<PaypalHarness> {
  const mod: SimulatorModule = { id: 'paypal', create: (deps) => createPaypalSimulator(deps, options.sim) };
  const sandbox = await startSandbox({ channels: ['paypal'], simulators: { paypal: mod }, webhookUrl: options.webhookUrl });
  const ch = sandbox.channels.paypal;
  const http = createHttpClient({ backoffMs: 20, maxAttempts: 3, ...(options.http ?? {}) });
  const records: ChannelCallRecord[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'pay-paypal-test-'));
  const deps: ChannelDeps = { stateDir, record: (e) => records.push(e), clock: () => Date.now(), http: async () => http, env: {}, debug: () => {} };
  return {
    sandbox,
    sim: ch.simulator as PaypalSimulator,
    baseUrl: ch.baseUrl,
    profile: ch.profile,
    http,
    records,
    async adapter(overrides = {}) {
      const config = paypal.validateConfig({ ...ch.profile, ...overrides });
      return (await paypal.create(config, deps)) as PaypalAdapter;
    },
    async close() {
      await http.close();
      await sandbox.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
