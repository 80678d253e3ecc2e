/**
 * Test harness for the UnionPay channel: the sandbox framework serving the simulator on a loopback
 * port, the shared undici client, and adapters created through the channel module as the registry
 * does (config validated first), each with its own state directory and a clock the test can move.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCallRecord, ChannelDeps } from '../../../src/channel/contract.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/server.js';
import { createHttpClient, type UndiciHttpClient } from '../../../src/channel/undici-http-client.js';
import type { UnionPayAdapter } from '../adapter.js';
import unionpay from '../index.js';
import { UnionPaySimulator, type UnionPaySimulatorOptions } from '../sandbox/index.js';

export interface UnionPayHarness {
  sandbox: RunningSandbox;
  sim: UnionPaySimulator;
  baseUrl: string;
  profile: Record<string, unknown>;
  http: UndiciHttpClient;
  records: ChannelCallRecord[];
  /** Milliseconds added to the adapters' clock (move time forward). */
  skewMs: number;
  adapter(overrides?: Record<string, unknown>, stateDir?: string): Promise<UnionPayAdapter>;
  tempDir(): string;
  close(): Promise<void>;
}

export async function startUnionPayHarness(options: { sim?: UnionPaySimulatorOptions } = {}): Promise<UnionPayHarness> {
  let sim: UnionPaySimulator | undefined;
  const sandbox = await startSandbox({
    channels: ['unionpay'],
    simulators: { unionpay: { id: 'unionpay', create: (deps) => (sim = new UnionPaySimulator(deps, options.sim)) } },
  });
  const http = createHttpClient({ backoffMs: 20, maxAttempts: 3 });
  const records: ChannelCallRecord[] = [];
  const dirs: string[] = [];
  const adapters: UnionPayAdapter[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'pay-unionpay-test-'));
    dirs.push(d);
    return d;
  };
  const h: UnionPayHarness = {
    sandbox,
    sim: sim!,
    baseUrl: sandbox.channels.unionpay.baseUrl,
    profile: sandbox.channels.unionpay.profile,
    http,
    records,
    skewMs: 0,
    tempDir,
    async adapter(overrides = {}, stateDir) {
      const config = unionpay.validateConfig({ ...h.profile, ...overrides });
      const deps: ChannelDeps = {
        stateDir: stateDir ?? tempDir(),
        record: (e) => records.push(e),
        clock: () => Date.now() + h.skewMs,
        http: async () => http,
        env: {},
        debug: () => {},
      };
      const a = (await unionpay.create(config, deps)) as UnionPayAdapter;
      adapters.push(a);
      return a;
    },
    async close() {
      for (const a of adapters) await a.close();
      await http.close();
      await sandbox.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
  return h;
}
