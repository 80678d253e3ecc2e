#!/usr/bin/env node
/**
 * Requests per second through a channel adapter + the shared HTTP client against the channel's
 * simulator, and through a bare undici loop sending the very same wire request to the same
 * endpoint, in the same run. Prints both and the ratio (target: adapter >= 0.7x bare).
 *
 *   npm run build && node bench/http-client.mjs [--channel alipay] [--op query|balance]
 *                                              [--concurrency 50] [--duration 10] [--slice 1]
 *
 * The simulator runs in a child process (so both loops meet the same server and the client side
 * is what differs). `--channel testpay` uses the test-only channel under test/helpers;
 * `--client-only` compares the HTTP client's request() alone (no adapter) with the bare loop.
 * The two loops run in alternating one-second slices, summed per side, so background load on a
 * shared machine weighs on both alike; the load average is printed with the result. For channels
 * whose protocol signs every request with RSA (alipay, wechatpay, unionpay) a third loop adds that
 * mandatory crypto to the bare loop, so the adapter is also compared with what the protocol costs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const dist = new URL('../dist/src/', import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const flag = (name) => process.argv.includes(`--${name}`);

const TESTPAY_SIM = new URL('../test/helpers/testpay/sandbox.mjs', import.meta.url);
const TESTPAY_MODULE = new URL('../test/helpers/testpay/index.mjs', import.meta.url);

// Child mode: serve one simulator, print its base URL and profile (test-only keys), run until killed.
if (flag('serve')) {
  const id = arg('serve');
  const { startSandbox } = await import(new URL('sandbox/server.js', dist));
  const simulators = id === 'testpay' ? { testpay: (await import(TESTPAY_SIM)).simulator } : undefined;
  const sb = await startSandbox({ channels: [id], simulators });
  if (!sb.channels[id]) {
    process.stdout.write(`${JSON.stringify({ error: `no simulator for ${id}` })}\n`);
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify({ baseUrl: sb.baseUrl(id), profile: sb.profile(id) })}\n`);
  process.on('SIGTERM', () => sb.close().then(() => process.exit(0)));
  setInterval(() => {}, 1 << 30);
} else {
  await main();
}

async function main() {
  const channel = arg('channel', 'alipay');
  const op = arg('op', 'query');
  const concurrency = Number(arg('concurrency', '50'));
  const durationMs = Number(arg('duration', '10')) * 1000;
  const sliceMs = Number(arg('slice', '1')) * 1000;
  const clientOnly = flag('client-only');

  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve', channel], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`simulator process exited ${code}`)));
  });
  if (first.error) {
    console.error(`${first.error}. Try --channel testpay (the test-only simulator).`);
    child.kill('SIGTERM');
    process.exit(2);
  }
  const { profile } = first;

  const { Agent, request: undiciRequest } = await import('undici');
  const { createHttpClient } = await import(new URL('channel/undici-http-client.js', dist));
  const { openChannel } = await import(new URL('channel/registry.js', dist));

  const client = createHttpClient({ env: {}, connections: concurrency });
  // Records the wire request the adapter sends, so the bare loop replays exactly those bytes.
  let capture = false;
  let captured;
  const recording = {
    request(req) {
      if (capture) captured = { method: req.method, url: req.url, headers: req.headers, body: req.body };
      return client.request(req);
    },
    close: async () => {},
  };
  const dir = mkdtempSync(join(tmpdir(), 'pay-bench-http-'));
  const config = { path: join(dir, 'none.json'), exists: false, origin: 'flag', config: { channels: channel === 'testpay' ? { testpay: { module: new URL(TESTPAY_MODULE).pathname } } : {}, profiles: {} } };
  const opened = await openChannel(channel, { config, env: {}, cwd: dir, dbPath: join(dir, 'bench.db'), clock: Date.now, http: async () => recording, overrides: profile });
  const adapter = opened.adapter;

  let call;
  const currency = channel === 'stripe' || channel === 'paypal' ? 'USD' : 'CNY';
  if (op === 'query') {
    const orderNo = `BENCH${Date.now()}`;
    const r = await adapter.collect({ orderNo, amountMinor: 100, currency, subject: 'bench' });
    const ref = { orderNo, channelTradeNo: r.channelTradeNo, amountMinor: 100, currency, createdAt: new Date().toISOString() };
    call = () => adapter.queryCollect(ref);
  } else if (op === 'balance') {
    call = () => adapter.balance();
  } else throw new Error(`--op ${op}: use query or balance`);
  capture = true;
  await call();
  capture = false;
  const wire = captured;
  if (clientOnly) call = () => client.request({ ...wire, idempotent: true, operation: 'bench' });

  const agent = new Agent({ connections: concurrency });
  const bare = async () => {
    const res = await undiciRequest(wire.url, { method: wire.method, headers: wire.headers, body: wire.body, dispatcher: agent });
    await res.body.arrayBuffer();
    if (res.statusCode >= 400) throw new Error(`bare request answered ${res.statusCode}`);
  };

  // The Chinese channels' protocols demand an RSA-2048 signature on every request and a signature
  // check on every answer; a replay loop does neither. This third loop is the bare loop plus that
  // mandatory crypto with node:crypto (same key size, same message sizes), so the adapter can also
  // be judged against the cost the protocol itself imposes.
  const SIGNING = new Set(['alipay', 'wechatpay', 'unionpay']);
  const withCrypto = SIGNING.has(channel) && !clientOnly;
  const { generateKeyPairSync, sign, verify } = await import('node:crypto');
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const toSign = Buffer.from(`${wire.method}\n${wire.url}\n${typeof wire.body === 'string' ? wire.body : (wire.body ?? '')}`);
  const bareCrypto = async () => {
    const signature = sign('sha256', toSign, keys.privateKey);
    const res = await undiciRequest(wire.url, { method: wire.method, headers: wire.headers, body: wire.body, dispatcher: agent });
    const body = Buffer.from(await res.body.arrayBuffer());
    verify('sha256', body, keys.publicKey, signature);
    if (res.statusCode >= 400) throw new Error(`bare request answered ${res.statusCode}`);
  };

  /** N workers, each sending the next request when the last answered, for `ms`. */
  async function run(fn, ms) {
    let n = 0;
    let errors = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const until = t0 + ms;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          try {
            await fn();
            n++;
          } catch {
            errors++;
          }
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { rps: n / secs, n, errors, cpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, n) };
  }

  console.log(`http-client bench: ${clientOnly ? 'HTTP client request()' : `${channel} adapter.${op === 'query' ? 'queryCollect' : 'balance'}()`} vs bare undici.request, ${concurrency} concurrent, ${durationMs / 1000} s each`);
  console.log(`endpoint: ${wire.method} ${wire.url.replace(/\?.*/, '?…')} (simulator in a child process)`);
  await run(bare, 500);
  await run(call, 500);
  // Short alternating slices, summed per side: both loops see the same background load.
  const total = { bare: { n: 0, secs: 0, errors: 0, cpu: 0 }, adapter: { n: 0, secs: 0, errors: 0, cpu: 0 }, crypto: { n: 0, secs: 0, errors: 0, cpu: 0 } };
  const slices = Math.max(1, Math.round(durationMs / sliceMs));
  const loops = [['bare', bare], ['adapter', call], ...(withCrypto ? [['crypto', bareCrypto]] : [])];
  for (let i = 0; i < slices; i++) {
    // Rotate the order of the loops slice by slice, so none always runs first.
    const order = loops.map((_, k) => loops[(k + i) % loops.length]);
    for (const [name, fn] of order) {
      const r = await run(fn, sliceMs);
      const t = total[name];
      t.n += r.n;
      t.secs += r.n / r.rps;
      t.errors += r.errors;
      t.cpu += r.cpuUsPerReq * r.n;
    }
  }
  const rps = (t) => t.n / t.secs;
  const ratio = rps(total.adapter) / rps(total.bare);
  const line = (label, t) => `${label} ${rps(t).toFixed(0).padStart(7)} req/s  ${String(t.errors).padStart(4)} errors  ${(t.cpu / Math.max(1, t.n)).toFixed(0).padStart(5)} µs CPU/req (client process)`;
  console.log(line('bare undici loop: ', total.bare));
  console.log(line(clientOnly ? 'HTTP client:      ' : 'adapter + client: ', total.adapter));
  console.log(`ratio: ${ratio.toFixed(2)}x (target >= 0.70x) ${ratio >= 0.7 ? 'OK' : 'BELOW TARGET'}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
  if (withCrypto) {
    const r2 = rps(total.adapter) / rps(total.crypto);
    console.log(line('bare loop + RSA:  ', total.crypto));
    console.log(`ratio against the bare loop doing the protocol's own crypto (one RSA-2048 sign and one verify per request): ${r2.toFixed(2)}x`);
  }

  await opened.close();
  await client.close();
  await agent.close();
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
