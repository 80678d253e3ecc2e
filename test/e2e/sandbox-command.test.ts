/**
 * `pay sandbox`: in-process with the test-only simulator (profile written beside an existing
 * config, keys in 0600 files, no secret printed, then used by `pay` through the binary), and the
 * real binary (starts with whatever simulators exist, reports the rest, stops cleanly on SIGINT).
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/commands/context.js';
import { presentReady, sandbox, type SandboxReady } from '../../src/commands/sandbox.js';
import { formatBlocks } from '../../src/output/render.js';
import type { RunningSandbox } from '../../src/sandbox/server.js';
import { SANDBOX_CHANNELS } from '../../src/sandbox/server.js';
import { BIN, cleanEnv, runPayJson, tempDir } from '../helpers/cli.js';
import { simulator as testpay } from '../helpers/testpay/sandbox.mjs';

const TESTPAY_MODULE = join(__dirname, '..', 'helpers', 'testpay', 'index.mjs');

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('pay sandbox (command function, test simulator)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let stop: AbortController;
  let running: Promise<SandboxReady>;
  let ready: SandboxReady;
  let sb: RunningSandbox;
  let stdout: Capture;
  let config: string;

  beforeAll(async () => {
    tmp = tempDir('pay-sandbox-cmd-');
    config = join(tmp.dir, 'pay.config.json');
    // An existing config: everything in it must survive.
    writeFileSync(
      config,
      JSON.stringify({ channels: { mock: { settleAfterMs: 10 }, testpay: { module: TESTPAY_MODULE } }, profiles: { live: { channels: { mock: { seed: 7 } } }, sandbox: { channels: { other: { x: 1 } } } }, note: 'kept' }, null, 2),
    );
    stdout = new Capture();
    const ctx = createContext({ config, db: join(tmp.dir, 'pay.db'), json: true, cwd: tmp.dir, env: {}, stdout, stderr: new Capture() });
    stop = new AbortController();
    const up = new Promise<void>((resolve) => {
      running = sandbox({ channel: ['testpay'] }, config, ctx, {
        simulators: { testpay },
        signal: stop.signal,
        onReady: (r, s) => {
          ready = r;
          sb = s;
          resolve();
        },
      });
      running.catch(() => resolve());
    });
    await up;
  });
  afterAll(async () => {
    stop.abort();
    await running.catch(() => {});
    tmp.cleanup();
  });

  it('writes the sandbox profile into the config, preserving everything else', () => {
    const doc = JSON.parse(readFileSync(config, 'utf8'));
    expect(doc.note).toBe('kept');
    expect(doc.channels).toEqual({ mock: { settleAfterMs: 10 }, testpay: { module: TESTPAY_MODULE } });
    expect(doc.profiles.live).toEqual({ channels: { mock: { seed: 7 } } });
    expect(doc.profiles.sandbox.channels.other).toEqual({ x: 1 });
    const tp = doc.profiles.sandbox.channels.testpay;
    expect(tp.baseUrl).toBe(sb.baseUrl('testpay'));
    expect(tp.merchantId).toBe('M100001');
    expect(tp.apiKey).toBe('file:.pay-sandbox/testpay/apiKey.txt');
    expect(tp.platformPublicKey).toBe('file:.pay-sandbox/testpay/platformPublicKey.pem');
    expect(ready.configPath).toBe(config);
  });

  it('keeps keys in 0600 files and prints no secret', () => {
    const apiKey = String(sb.profile('testpay').apiKey);
    const keyFile = join(tmp.dir, '.pay-sandbox', 'testpay', 'apiKey.txt');
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(apiKey);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(stdout.text).not.toContain(apiKey);
    expect(readFileSync(config, 'utf8')).not.toContain(apiKey);
    const doc = JSON.parse(stdout.text);
    expect(doc).toMatchObject({ channels: [{ id: 'testpay', baseUrl: sb.baseUrl('testpay') }], unavailable: [], config });
  });

  it('the profile drives the real binary: create, simulated payment, query', async () => {
    const env = { PAY_CONFIG: config, PAY_DB: join(tmp.dir, 'pay.db'), PAY_PROFILE: 'sandbox' };
    const created = await runPayJson(['create', '--channel', 'testpay', '--amount', '1.23', '--currency', 'CNY'], { env, cwd: tmp.dir });
    expect(created.code, created.stderr).toBe(0);
    expect(created.json.status).toBe('pending');
    await sb.pay('testpay', created.json.orderNo);
    const queried = await runPayJson(['query', created.json.orderNo], { env, cwd: tmp.dir });
    expect(queried.code, queried.stderr).toBe(0);
    expect(queried.json.order?.status ?? queried.json.status).toBe('succeeded');
  });
});

describe('pay sandbox report', () => {
  it('says which channels have no simulator, and that there is nothing to point pay at when none has', () => {
    const none = presentReady({ channels: [], unavailable: ['alipay', 'paypal'], keyDir: '/x/.pay-sandbox', profile: {}, wrote: true, printed: false });
    const text = formatBlocks(none.blocks, false);
    expect(text).toMatch(/alipay\s+no simulator yet/);
    expect(text).toMatch(/paypal\s+no simulator yet/);
    expect(text).toContain('No channel simulator is available yet');
    expect(none.json).toMatchObject({ channels: [], unavailable: ['alipay', 'paypal'], config: null });
    const some = presentReady({ channels: [{ id: 'stripe', baseUrl: 'http://127.0.0.1:9100', port: 9100 }], unavailable: ['unionpay'], configPath: '/x/pay.config.json', keyDir: '/x/.pay-sandbox', profile: { stripe: { secretKey: 'file:.pay-sandbox/stripe/secretKey.txt' } }, wrote: true, printed: true });
    const t2 = formatBlocks(some.blocks, false);
    expect(t2).toContain('pay create --profile sandbox --channel stripe --amount 0.01 --currency USD');
    expect(t2).toContain('http://127.0.0.1:9100/__sandbox/pay');
    expect(t2).toContain('file:.pay-sandbox/stripe/secretKey.txt');
    expect(t2).toMatch(/unionpay\s+no simulator yet/);
  });
});

/** Spawns `pay sandbox`, resolves with its ready document once stdout holds one. */
function startBinary(args: string[], cwd: string): Promise<{ doc: any; stop: (signal: NodeJS.Signals) => Promise<number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sandbox', '--json', ...args], { cwd, env: cleanEnv({ XDG_CONFIG_HOME: join(cwd, 'xdg'), XDG_DATA_HOME: join(cwd, 'xdg-data') }) });
    let out = '';
    let err = '';
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pay sandbox did not start: ${out} ${err}`));
    }, 20_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const doc = JSON.parse(out);
        clearTimeout(timer);
        resolve({
          doc,
          stop: async (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      } catch {
        /* not complete yet */
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`pay sandbox exited ${code} before it was ready: ${out} ${err}`));
    });
  });
}

describe('pay sandbox (binary)', () => {
  it('starts with the simulators that exist, names the channels without one, and stops cleanly on SIGINT', async () => {
    const tmp = tempDir('pay-sandbox-bin-');
    try {
      const { doc, stop } = await startBinary(['--port', '0'], tmp.dir);
      const ids = [...doc.channels.map((c: { id: string }) => c.id), ...doc.unavailable];
      expect(ids.sort()).toEqual([...SANDBOX_CHANNELS].sort());
      for (const c of doc.channels as { id: string; baseUrl: string }[]) {
        const health = await fetch(`${c.baseUrl}/__sandbox/health`);
        expect(health.status).toBe(200);
      }
      if (doc.channels.length) {
        expect(doc.config).toBe(join(tmp.dir, 'pay.config.json'));
        const cfg = JSON.parse(readFileSync(doc.config, 'utf8'));
        expect(Object.keys(cfg.profiles.sandbox.channels).sort()).toEqual(doc.channels.map((c: { id: string }) => c.id).sort());
      }
      expect(await stop('SIGINT')).toBe(0);
      for (const c of doc.channels as { baseUrl: string }[]) await expect(fetch(`${c.baseUrl}/__sandbox/health`)).rejects.toThrow();
    } finally {
      tmp.cleanup();
    }
  });

  it('SIGTERM stops it too; a bad --port or unknown --channel is a usage error (exit 2)', async () => {
    const tmp = tempDir('pay-sandbox-bin-');
    try {
      const { stop } = await startBinary(['--port', '0', '--print-profile'], tmp.dir);
      expect(await stop('SIGTERM')).toBe(0);
      const bad = await runPayJson(['sandbox', '--port', 'eighty'], { cwd: tmp.dir });
      expect(bad.code).toBe(2);
      expect(bad.json.error.code).toBe('INVALID_REQUEST');
      const unknown = await runPayJson(['sandbox', '--channel', 'nosuch'], { cwd: tmp.dir });
      expect(unknown.code).toBe(2);
    } finally {
      tmp.cleanup();
    }
  });
});
