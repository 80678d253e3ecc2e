/**
 * `pay loadtest --channel auto`: collects routed by a 70/30 rule between the Alipay simulator
 * (over HTTP) and the in-process mock; the summary reports the split per channel, which the
 * simulator's own request log confirms. A target that refuses connections is fallen back from.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { runPay, runPayJson, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let sandbox: RunningSandbox;
let env: Record<string, string>;

beforeAll(async () => {
  tmp = tempDir('pay-lt-routing-');
  sandbox = await startSandbox({ channels: ['alipay'] });
  const rules = (alipay: Record<string, unknown>) => ({
    channels: { alipay },
    routing: { rules: [{ match: { currency: 'CNY', method: 'qr' }, targets: [{ channel: 'alipay', weight: 70 }, { channel: 'mock', weight: 30 }] }] },
  });
  writeFileSync(join(tmp.dir, 'split.json'), JSON.stringify(rules(sandbox.profile('alipay'))));
  // A port nothing listens on (bound, noted, closed): connections are refused.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  writeFileSync(join(tmp.dir, 'refused.json'), JSON.stringify(rules({ ...sandbox.profile('alipay'), gateway: `http://127.0.0.1:${port}/gateway.do` })));
  env = { XDG_DATA_HOME: join(tmp.dir, 'data'), XDG_CONFIG_HOME: join(tmp.dir, 'config'), HOME: tmp.dir };
}, 60_000);
afterAll(async () => {
  await sandbox?.close();
  tmp.cleanup();
});

describe('pay loadtest --channel auto', () => {
  it('routes collects by the rule and reports the split per channel', async () => {
    const r = await runPayJson(['loadtest', '--channel', 'auto', '--concurrency', '4', '--requests', '200', '--warmup', '0'], { env: { ...env, PAY_CONFIG: join(tmp.dir, 'split.json') }, cwd: tmp.dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.levels[0]).toMatchObject({ requests: 200, errors: 0 });
    const routing = r.json.target.routing;
    expect(routing).toMatchObject({ rule: 1, source: 'routing', fallbacks: 0 });
    // 200 measured collects and the one made while preparing (it checks the channel answers).
    expect(routing.split.alipay + routing.split.mock).toBe(201);
    expect(Math.abs(routing.split.alipay / 201 - 0.7)).toBeLessThan(0.1);
    const precreates = sandbox.requests('alipay').filter((q) => q.body.includes('alipay.trade.precreate')).length;
    expect(precreates).toBe(routing.split.alipay);
    const text = await runPay(['loadtest', '--channel', 'auto', '--concurrency', '2', '--requests', '20', '--warmup', '0', '--no-color'], { env: { ...env, PAY_CONFIG: join(tmp.dir, 'split.json') }, cwd: tmp.dir });
    expect(text.stdout).toMatch(/Routing \(rule 1\), collects per channel, seeding included: alipay \d+ \(\d+\.\d%\), mock \d+/);
  }, 90_000);

  it('falls back from a target that refuses connections', async () => {
    const r = await runPayJson(['loadtest', '--channel', 'auto', '--concurrency', '2', '--requests', '40', '--warmup', '0'], { env: { ...env, PAY_CONFIG: join(tmp.dir, 'refused.json') }, cwd: tmp.dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.target.routing.split).toEqual({ alipay: 0, mock: 41 });
    expect(r.json.target.routing.fallbacks).toBeGreaterThan(0);
  }, 90_000);
});
