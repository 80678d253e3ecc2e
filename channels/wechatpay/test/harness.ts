/**
 * Test harness for the WeChat Pay channel: the real sandbox framework serving the simulator on a
 * loopback port, the shared undici client, and adapters created through the channel module as the
 * registry does (config validated first), each with its own state directory unless told.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCallRecord, ChannelDeps } from '../../../src/channel/contract.js';
import type { HttpClientOptions } from '../../../src/channel/http-client.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/server.js';
import { createHttpClient, type UndiciHttpClient } from '../../../src/channel/undici-http-client.js';
import type { WechatpayAdapter } from '../adapter.js';
import wechatpay from '../index.js';
import { WechatpaySimulator, type WechatpaySimulatorOptions } from '../sandbox/index.js';

export interface WechatpayHarness {
  sandbox: RunningSandbox;
  sim: WechatpaySimulator;
  baseUrl: string;
  profile: Record<string, unknown>;
  http: UndiciHttpClient;
  records: ChannelCallRecord[];
  /** An adapter over the simulator; settings laid over the profile; a fresh state dir unless given. */
  adapter(overrides?: Record<string, unknown>, stateDir?: string): Promise<WechatpayAdapter>;
  /** A fresh temporary directory, removed on close. */
  tempDir(): string;
  /** API requests the simulator saw (method and path). */
  paths(): string[];
  close(): Promise<void>;
}

export async function startWechatpayHarness(options: { sim?: WechatpaySimulatorOptions; http?: HttpClientOptions; webhookUrl?: string } = {}): Promise<WechatpayHarness> {
  let sim: WechatpaySimulator | undefined;
  const sandbox = await startSandbox({
    channels: ['wechatpay'],
    webhookUrl: options.webhookUrl,
    simulators: {
      wechatpay: {
        id: 'wechatpay',
        create: async (deps) => {
          sim = await WechatpaySimulator.create(deps, options.sim);
          return sim;
        },
      },
    },
  });
  const http = createHttpClient({ backoffMs: 20, maxAttempts: 3, ...(options.http ?? {}) });
  const records: ChannelCallRecord[] = [];
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'pay-wx-test-'));
    dirs.push(d);
    return d;
  };
  const ch = sandbox.channels.wechatpay;
  return {
    sandbox,
    sim: sim!,
    baseUrl: ch.baseUrl,
    profile: ch.profile,
    http,
    records,
    tempDir,
    async adapter(overrides = {}, stateDir) {
      const config = wechatpay.validateConfig({ ...ch.profile, ...overrides });
      const deps: ChannelDeps = {
        stateDir: stateDir ?? tempDir(),
        record: (e) => records.push(e),
        clock: () => Date.now(),
        http: async () => http,
        env: {},
        debug: () => {},
      };
      return (await wechatpay.create(config, deps)) as WechatpayAdapter;
    },
    paths: () => sandbox.requests('wechatpay').map((r) => `${r.method} ${r.url.split('?')[0]}`),
    async close() {
      await http.close();
      await sandbox.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
