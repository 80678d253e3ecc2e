/**
 * Shared suites every real channel runs against its simulator (issue 4, "How it is checked"):
 *
 *   channelContractSuite('alipay', { ... })   the lifecycle through the command functions
 *   channelFaultSuite('alipay', { ... })      injected faults through the real binary
 *
 * Both start the channel's simulator with `startSandbox`, write a temporary config whose `sandbox`
 * profile is exactly what `pay sandbox` writes (keys as 0600 files, `file:` references), and open
 * the adapter through the registry. Options let a channel skip what it cannot do. A channel's test
 * file is a few lines:
 *
 *   import { channelContractSuite, channelFaultSuite } from '../../../test/helpers/contract-suite.js';
 *   channelContractSuite('wechatpay', { currency: 'CNY' });
 *   channelFaultSuite('wechatpay', { createMatch: { match: '^POST /v3/pay/transactions/native' }, queryMatch: { match: '^GET /v3/pay/transactions/out-trade-no/' } });
 *
 * Run `npm run build` first: the fault suite drives bin/pay.js.
 */
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { isPayError, PayError } from '../../src/core/errors.js';
import { generateId } from '../../src/core/ids.js';
import { formatAmount, parseAmount } from '../../src/core/money.js';
import { utcToWallTime } from '../../src/core/time.js';
import type { BillRow, CallbackVerdict, ChannelModule, RawRequest } from '../../src/channel/contract.js';
import { channelConfig, isSecretKey, loadChannelModule } from '../../src/channel/registry.js';
import { startSandbox, type FaultSpec, type RunningSandbox, type SandboxOptions } from '../../src/sandbox/server.js';
import { createContext, type Context } from '../../src/commands/context.js';
import { externalizeSecrets, writeSandboxProfile } from '../../src/commands/sandbox.js';
import { runPayJson, tempDir, type RunResult } from './cli.js';

/** Options both suites share. */
export interface SuiteOptions {
  /** Simulators to serve besides (or instead of) the built-in one for this channel. */
  simulators?: SandboxOptions['simulators'];
  /** Path to the channel module when it is not built in (written as `channels.<id>.module`). */
  module?: string;
  /** Settings laid over the simulator's profile in the temporary config. */
  settings?: Record<string, unknown>;
  /** Currency of the orders (default CNY). */
  currency?: string;
  /** Amount collected (default 12.34; give a whole number for zero-decimal currencies). */
  amount?: string;
  /** `--method` for collect (default: the channel's first method). */
  method?: string;
  /** How long to wait for things that progress over time, ms (default 10,000). */
  settleTimeoutMs?: number;
}

/** Steps of the lifecycle a channel may skip. */
export type ContractStep = 'notify' | 'refund' | 'channelOverRefund' | 'payout' | 'balance' | 'bill';

/** Options of {@link channelContractSuite}. */
export interface ContractSuiteOptions extends SuiteOptions {
  /** Partial refund amount (default 2.34). */
  refundAmount?: string;
  /** Payout amount (default 5.00) and payee. */
  payoutAmount?: string;
  payee?: string;
  payeeName?: string;
  /** Statuses acceptable right after create (default ['pending']). */
  initialStatuses?: string[];
  /** Bill row kinds the lifecycle must produce (default payment, refund, payout: less whatever is skipped). */
  billKinds?: BillRow['kind'][];
  /** Steps this channel cannot do (each is reported as skipped, never silently passed). */
  skip?: ContractStep[];
}

/** How a fault suite finds the create and query requests at the simulator. */
export type RequestMatch = Pick<FaultSpec, 'match' | 'bodyMatch'>;

/** Fault scenarios a channel may skip. */
export type FaultStep = 'timeout' | 'lostCreate' | 'lostRefund' | 'retryQuery' | 'retryCreate' | 'rateLimit' | 'exhausted' | 'malformed' | 'badSignature' | 'missingSignature';

/** Options of {@link channelFaultSuite}. */
export interface FaultSuiteOptions extends SuiteOptions {
  /** The create (collect) request at the simulator. */
  createMatch: RequestMatch;
  /** The order query request at the simulator. */
  queryMatch: RequestMatch;
  /** The refund request at the simulator (without it the lost-refund scenario is skipped, visibly). */
  refundMatch?: RequestMatch;
  /** The client timeout given to the binary (PAY_HTTP_TIMEOUT_MS, default 800). */
  timeoutMs?: number;
  /** Codes accepted for an answer with a bad or missing signature (default SIGNATURE_INVALID, CHANNEL_ERROR). */
  signatureCodes?: string[];
  /** Codes accepted for a malformed answer (default CHANNEL_ERROR). */
  malformedCodes?: string[];
  /** Codes accepted when 5xx retries run out (default SYSTEM_ERROR). */
  exhaustedCodes?: string[];
  /** Whether a malformed answer's error must quote it (default true). */
  malformedExcerpt?: boolean;
  /** Body of the injected 429 (the provider's own rate-limit answer; default none). */
  rateLimitBody?: string;
  /**
   * How many orders the simulator holds for a merchant order number (default: counts the create
   * requests the simulator handled that carry it). Give one that reads the simulator's state.
   */
  countOrders?: (sandbox: RunningSandbox, orderNo: string) => number | Promise<number>;
  /** Scenarios this channel cannot run. */
  skip?: FaultStep[];
}

/** A sandbox with one channel and a temporary config/database pointing at it. */
export interface SandboxFixture {
  sandbox: RunningSandbox;
  module: ChannelModule;
  dir: string;
  /** The temporary config (profile `sandbox`). */
  config: string;
  db: string;
  /** Environment for runPay: PAY_CONFIG, PAY_DB, PAY_PROFILE=sandbox. */
  env: Record<string, string>;
  /** The channel's resolved settings under the sandbox profile (for callback.verify). */
  settings: Record<string, unknown>;
  /** A command context on the temporary config and database (profile sandbox). */
  context(extra?: { json?: boolean }): Context;
  close(): Promise<void>;
}

/** A sink for command output the suites do not print. */
class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Starts the channel's simulator and writes a config whose `sandbox` profile points at it. */
export async function sandboxFixture(channelId: string, options: SuiteOptions = {}): Promise<SandboxFixture> {
  const tmp = tempDir(`pay-${channelId}-suite-`);
  const sandbox = await startSandbox({ channels: [channelId], simulators: options.simulators });
  try {
    if (!sandbox.channels[channelId]) throw new Error(`the sandbox has no simulator for ${channelId} (add its line to SIMULATORS in src/sandbox/server.ts)`);
    const config = join(tmp.dir, 'pay.config.json');
    const db = join(tmp.dir, 'pay.db');
    const base = options.module ? { channels: { [channelId]: { module: options.module } } } : {};
    writeFileSync(config, `${JSON.stringify(base, null, 2)}\n`, { mode: 0o600 });
    const moduleRef = loadConfig(config, {}, tmp.dir);
    const mod = await loadChannelModule(channelId, { config: moduleRef, cwd: tmp.dir });
    const profile = externalizeSecrets({ ...sandbox.profile(channelId), ...(options.settings ?? {}) }, (k) => isSecretKey(mod, k), join(tmp.dir, '.pay-sandbox', channelId), tmp.dir);
    writeSandboxProfile(config, { [channelId]: profile });
    const loaded = loadConfig(config, {}, tmp.dir);
    const settings = channelConfig(mod, loaded, 'sandbox', {}, tmp.dir);
    const contexts: Context[] = [];
    return {
      sandbox,
      module: mod,
      dir: tmp.dir,
      config,
      db,
      env: { PAY_CONFIG: config, PAY_DB: db, PAY_PROFILE: 'sandbox', XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data') },
      settings,
      context(extra = {}) {
        const ctx = createContext({ config, db, profile: 'sandbox', env: {}, cwd: tmp.dir, json: extra.json ?? true, interactive: false, stdout: new Sink(), stderr: new Sink() });
        contexts.push(ctx);
        return ctx;
      },
      async close() {
        for (const c of contexts.splice(0)) await c.close();
        await sandbox.close();
        tmp.cleanup();
      },
    };
  } catch (err) {
    await sandbox.close();
    tmp.cleanup();
    throw err;
  }
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A merchant notify endpoint that verifies each notification with the channel's own verifier and replies as a merchant would. */
export interface NotifyReceiver {
  url: string;
  received: { request: RawRequest; verdict: CallbackVerdict }[];
  close(): Promise<void>;
}

export async function notifyReceiver(mod: ChannelModule, settings: Record<string, unknown>): Promise<NotifyReceiver> {
  const received: NotifyReceiver['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const request: RawRequest = { method: req.method, target: req.url, headers, body: Buffer.concat(chunks) };
      try {
        if (!mod.callback) throw new Error(`channel ${mod.id} has no callback handler`);
        const verdict = await mod.callback.verify(request, settings, { at: Date.now() });
        received.push({ request, verdict });
        res.writeHead(verdict.reply.status, verdict.reply.headers).end(verdict.reply.body);
      } catch (err) {
        res.writeHead(500).end(String((err as Error).message));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/${mod.id}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Minor units of one unit of the currency's smallest step (1), as a decimal string. */
function plusOneMinor(decimal: string, currency: string): string {
  return formatAmount(parseAmount(decimal, currency) + 1, currency);
}

/**
 * The lifecycle of issue 4 against the channel's simulator, through the command functions:
 * collect -> query pending -> simulated payment -> signed notification verified -> query paid ->
 * partial refund -> refund query -> over-refund refused -> payout -> balance -> bill.
 */
export function channelContractSuite(channelId: string, options: ContractSuiteOptions = {}): void {
  const skip = new Set(options.skip ?? []);
  const currency = options.currency ?? 'CNY';
  const amount = options.amount ?? '12.34';
  const refundAmount = options.refundAmount ?? '2.34';
  const payoutAmount = options.payoutAmount ?? '5.00';
  const wait = options.settleTimeoutMs ?? 10_000;
  const step = (name: ContractStep, title: string, fn: () => Promise<void>) => (skip.has(name) ? it.skip(`${title} (skipped: channel option)`, fn) : it(title, fn));

  describe(`channel contract: ${channelId} against its simulator`, () => {
    let fx: SandboxFixture;
    let ctx: Context;
    let rx: NotifyReceiver;
    let orderNo: string | undefined;
    let paid = false;
    let refundNo: string | undefined;
    let payoutNo: string | undefined;
    const amountMinor = parseAmount(amount, currency);
    const refundMinor = parseAmount(refundAmount, currency);

    const need = <T>(value: T | undefined, what: string): T => {
      if (value === undefined || value === false) throw new Error(`an earlier step failed: no ${what}`);
      return value;
    };

    beforeAll(async () => {
      fx = await sandboxFixture(channelId, options);
      ctx = fx.context();
      rx = await notifyReceiver(fx.module, fx.settings);
      fx.sandbox.setWebhookUrl(rx.url, channelId);
    });
    afterAll(async () => {
      await rx?.close();
      await fx?.close();
    });

    it('collect: the order is created at the channel and pending', async () => {
      const { create } = await import('../../src/commands/create.js');
      const r = await create({ channel: channelId, amount, currency, subject: `contract suite ${channelId}`, method: options.method, notifyUrl: rx.url }, ctx);
      expect(r.existing).toBe(false);
      expect(r.order.amountMinor).toBe(amountMinor);
      expect(options.initialStatuses ?? ['pending']).toContain(r.order.status);
      orderNo = r.order.orderNo;
    });

    it('query: still pending before the payer pays', async () => {
      const { query } = await import('../../src/commands/query.js');
      const r = await query(need(orderNo, 'order'), {}, ctx);
      expect(r.remote).toBeDefined();
      expect(options.initialStatuses ?? ['pending']).toContain(r.order.status);
    });

    it('simulated payment: the payer pays', async () => {
      await fx.sandbox.pay(channelId, need(orderNo, 'order'), 'succeeded');
      paid = true;
    });

    step('notify', 'notification: signed, received, verified with callback.verify, and accepted', async () => {
      need(paid || undefined, 'payment');
      const got = await eventually('a notification for the order', () => rx.received.find((r) => r.verdict.event?.orderNo === orderNo), wait);
      expect(got.verdict.valid, got.verdict.reason).toBe(true);
      expect(got.verdict.channel).toBe(fx.module.id);
      if (got.verdict.event?.amountMinor !== undefined) expect(got.verdict.event.amountMinor).toBe(amountMinor);
      if (got.verdict.event?.currency !== undefined) expect(got.verdict.event.currency).toBe(currency);
      if (got.verdict.event?.status !== undefined) expect(got.verdict.event.status).toBe('succeeded');
      expect(got.request.headers, 'a notification must carry its signature in headers or body').toBeDefined();
      // The merchant's reply (the verdict's) counted as received by the simulator.
      await eventually('the simulator to see the notification accepted', () => fx.sandbox.deliveries(channelId).some((d) => d.url === rx.url && d.accepted), wait);
      // A tampered copy must not verify.
      const body = Buffer.from(got.request.body);
      body[Math.floor(body.length / 2)] ^= 0x01;
      const forged = await fx.module.callback!.verify({ ...got.request, body }, fx.settings, { at: Date.now() });
      expect(forged.valid).toBe(false);
    });

    it('query: paid', async () => {
      const { query } = await import('../../src/commands/query.js');
      const no = need(orderNo, 'order');
      need(paid || undefined, 'payment');
      const r = await eventually('the order to be paid', async () => {
        const q = await query(no, {}, ctx);
        return q.order.status === 'succeeded' ? q : undefined;
      }, wait);
      expect(r.order.status).toBe('succeeded');
      expect(r.warnings).toEqual([]);
    });

    step('refund', 'partial refund, then its query until it succeeds', async () => {
      const { refund } = await import('../../src/commands/refund.js');
      const { query } = await import('../../src/commands/query.js');
      const r = await refund(need(orderNo, 'order'), { amount: refundAmount, reason: 'contract suite' }, ctx);
      expect(['pending', 'succeeded']).toContain(r.refund.status);
      expect(r.refund.amountMinor).toBe(refundMinor);
      refundNo = r.refund.refundNo;
      const done = await eventually('the refund to succeed', async () => {
        const q = await query(refundNo!, {}, ctx);
        const f = q.refunds.find((x) => x.refundNo === refundNo);
        return f?.status === 'succeeded' ? q : undefined;
      }, wait);
      expect(done.order.refundedMinor).toBe(refundMinor);
    });

    step('refund', 'a second refund over the remainder is refused, recording nothing', async () => {
      const { refund } = await import('../../src/commands/refund.js');
      const no = need(orderNo, 'order');
      need(refundNo, 'first refund');
      const store = await ctx.store();
      const before = (await store.listRefunds(no)).length;
      const over = plusOneMinor(formatAmount(amountMinor - refundMinor, currency), currency);
      await expect(refund(no, { amount: over }, ctx)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
      expect((await store.listRefunds(no)).length).toBe(before);
    });

    step('channelOverRefund', 'the channel itself refuses a refund over the remainder', async () => {
      const no = need(orderNo, 'order');
      need(refundNo, 'first refund');
      const ch = await ctx.channel(channelId);
      const order = (await (await ctx.store()).getOrder(no))!;
      const overMinor = amountMinor - refundMinor + 1;
      let outcome: string;
      try {
        const state = await ch.adapter.refund!({
          orderNo: no,
          refundNo: generateId('refund'),
          channelTradeNo: order.channelTradeNo,
          amountMinor: overMinor,
          totalMinor: amountMinor,
          currency,
          orderCreatedAt: order.createdAt,
        });
        outcome = state.status;
      } catch (err) {
        expect(isPayError(err), String(err)).toBe(true);
        // A refusal is an answer, not a network failure.
        expect(['TIMEOUT', 'CHANNEL_ERROR', 'SIGNATURE_INVALID']).not.toContain((err as PayError).code);
        outcome = 'refused';
      }
      expect(['failed', 'refused']).toContain(outcome);
    });

    step('payout', 'payout, then its query until it succeeds', async () => {
      const { payout } = await import('../../src/commands/payout.js');
      const { query } = await import('../../src/commands/query.js');
      const r = await payout({ channel: channelId, amount: payoutAmount, currency, to: options.payee ?? 'payee-contract-001', name: options.payeeName ?? 'Contract Suite' }, ctx);
      expect(['pending', 'succeeded']).toContain(r.order.status);
      payoutNo = r.order.orderNo;
      await eventually('the payout to succeed', async () => (await query(payoutNo!, {}, ctx)).order.status === 'succeeded', wait);
    });

    step('balance', 'balance: whole minor units per currency', async () => {
      const { balance } = await import('../../src/commands/balance.js');
      const r = await balance({ channel: channelId }, ctx);
      expect(r.balances.length).toBeGreaterThan(0);
      for (const b of r.balances) {
        expect(b.currency).toMatch(/^[A-Z]{3}$/);
        expect(Number.isSafeInteger(b.availableMinor)).toBe(true);
      }
    });

    step('bill', "bill: today's statement downloaded and parsed with the lifecycle's rows", async () => {
      const no = need(orderNo, 'order');
      const ch = await ctx.channel(channelId);
      const date = utcToWallTime(Date.now(), fx.module.description.timeZone).slice(0, 10);
      const kinds = options.billKinds ?? (['payment', ...(skip.has('refund') ? [] : ['refund']), ...(skip.has('payout') ? [] : ['payout'])] as BillRow['kind'][]);
      const dir = join(fx.dir, 'bills');
      mkdirSync(dir, { recursive: true });
      const rows = await eventually('the bill to list the lifecycle', async () => {
        const bill = await ch.adapter.downloadBill!({ date, dir });
        const reader = fx.module.bill ?? { read: ch.adapter.readBill!.bind(ch.adapter) };
        const mine: BillRow[] = [];
        for await (const row of reader.read({ path: bill.path }, { date })) {
          if (row.orderNo === no || (payoutNo && row.orderNo === payoutNo) || (refundNo && row.refundNo === refundNo)) mine.push(row);
        }
        return kinds.every((k) => mine.some((r) => r.kind === k)) ? mine : undefined;
      }, wait);
      const payment = rows.find((r) => r.kind === 'payment' && r.orderNo === no)!;
      expect(payment.amountMinor).toBe(amountMinor);
      expect(payment.currency).toBe(currency);
      if (kinds.includes('refund')) expect(rows.find((r) => r.kind === 'refund')!.amountMinor).toBe(-refundMinor);
      if (kinds.includes('payout')) expect(rows.find((r) => r.kind === 'payout')!.amountMinor).toBe(-parseAmount(payoutAmount, currency));
      for (const r of rows) expect(Number.isNaN(Date.parse(r.time))).toBe(false);
    });

    it('the order book and its event log never hold a secret setting, after the whole lifecycle', () => {
      expectNoSecrets(fx);
    });
  });
}

/**
 * Fails when the order book (database and WAL files) or `shown` (a command's output) holds the
 * value of a setting the channel's schema marks secret.
 */
function expectNoSecrets(fx: SandboxFixture, shown = ''): void {
  // Short values could turn up in a book by chance; real secrets and test keys are longer.
  const secrets = Object.entries(fx.settings).filter((e): e is [string, string] => isSecretKey(fx.module, e[0]) && typeof e[1] === 'string' && e[1].length >= 12);
  expect(secrets.length, 'the sandbox profile holds no secret setting to look for').toBeGreaterThan(0);
  expect(existsSync(fx.db), 'no order book was written').toBe(true);
  for (const [key, value] of secrets) {
    expect(shown.includes(value), `the output holds ${key}`).toBe(false);
    for (const f of [fx.db, `${fx.db}-wal`]) {
      if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(value)), `${f} holds ${key}`).toBe(false);
    }
  }
}

/** What the binary printed as its JSON error, with every string in it. */
function errorOf(r: RunResult & { json: any }): { code?: string; text: string[] } {
  const e = r.json?.error ?? {};
  const text: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') text.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(e);
  return { code: e.code, text };
}

/**
 * Faults injected through the simulator, each with the right code and exit status and nothing
 * lost, through the real binary: a response slower than the timeout, 503 then success (query
 * retried; create not duplicated), 429 with Retry-After, 5xx until retries run out, a malformed
 * body, and bad or missing response signatures.
 */
export function channelFaultSuite(channelId: string, options: FaultSuiteOptions): void {
  const skip = new Set(options.skip ?? []);
  const currency = options.currency ?? 'CNY';
  const amount = options.amount ?? '12.34';
  const timeoutMs = options.timeoutMs ?? 800;
  const step = (name: FaultStep, title: string, fn: () => Promise<void>) => (skip.has(name) ? it.skip(`${title} (skipped: channel option)`, fn) : it(title, fn));

  describe(`channel faults: ${channelId} through the binary`, () => {
    let fx: SandboxFixture;
    let env: Record<string, string>;
    let pendingNo: string;

    const pay = (args: string[], extra: Record<string, string> = {}) => runPayJson(args, { env: { ...env, ...extra }, cwd: fx.dir });
    const createArgs = (orderNo: string) => ['create', '--channel', channelId, '--amount', amount, '--currency', currency, '--order-no', orderNo, ...(options.method ? ['--method', options.method] : [])];
    const fault = (match: RequestMatch, spec: Omit<FaultSpec, 'match' | 'bodyMatch'>) => fx.sandbox.fault(channelId, { ...match, ...spec });
    // As the sandbox matches faults: on `METHOD path?query`, or on the operation it names (Alipay's method).
    const matches = (match: RequestMatch, r: { method: string; url: string; body: string; operation?: string }) =>
      (!match.match || new RegExp(match.match).test(`${r.method} ${r.url}`) || (r.operation !== undefined && new RegExp(match.match).test(r.operation))) &&
      (!match.bodyMatch || new RegExp(match.bodyMatch).test(r.body));
    // Requests about an order name our order number, or (Stripe, PayPal) the channel's own id for it.
    const tradeNos = new Map<string, string>();
    const names = (r: { url: string; body: string }, id: string | undefined) => id !== undefined && id !== '' && (r.url.includes(id) || r.body.includes(id));
    const requestsFor = (match: RequestMatch, orderNo: string) => fx.sandbox.requests(channelId).filter((r) => matches(match, r) && (names(r, orderNo) || names(r, tradeNos.get(orderNo))));
    const countOrders = async (orderNo: string) =>
      options.countOrders ? options.countOrders(fx.sandbox, orderNo) : requestsFor(options.createMatch, orderNo).filter((r) => r.handled && r.status !== undefined && r.status < 300).length;
    const localStatus = async (orderNo: string) => {
      const r = await pay(['query', orderNo, '--local']);
      expect(r.code, r.stderr).toBe(0);
      return r.json.status as string;
    };

    beforeAll(async () => {
      fx = await sandboxFixture(channelId, options);
      env = { ...fx.env, PAY_HTTP_TIMEOUT_MS: String(timeoutMs) };
      pendingNo = generateId('payment');
      const r = await pay(createArgs(pendingNo));
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      if (typeof r.json.channelTradeNo === 'string') tradeNos.set(pendingNo, r.json.channelTradeNo);
    });
    afterAll(async () => {
      await fx?.close();
    });

    step('timeout', 'a create slower than the timeout: TIMEOUT, exit 3; the order stays created and a later query resolves it', async () => {
      const no = generateId('payment');
      fault(options.createMatch, { kind: 'delay', delayMs: timeoutMs * 4 });
      const r = await pay(createArgs(no));
      fx.sandbox.clearFaults(channelId);
      expect(r.code, r.stderr).toBe(3);
      expect(errorOf(r).code).toBe('TIMEOUT');
      expect(await localStatus(no)).toBe('created');
      const q = await pay(['query', no]);
      expect(q.code, q.stderr).toBe(0);
      // Alipay and UnionPay cannot tell "arrived, not paid yet" from "never arrived": the order
      // stays created. Either way the create's answer (what the payer needs) was lost, so sending
      // it again with the same number brings it, and makes no second order.
      if (q.json.status === 'created') expect(q.json.notAtChannel).toBe(true);
      else expect(q.json.status).toBe('pending');
      const again = await pay(createArgs(no));
      expect(again.code, again.stderr).toBe(0);
      expect(again.json).toMatchObject({ orderNo: no, existing: true, status: 'pending' });
      expect(again.json.payload, 'the re-sent create brings what the payer needs').toBeTruthy();
      expect(await countOrders(no)).toBe(1);
    });

    step('lostCreate', 'a create lost to a 500, then a query: the order stays created and `pay create --order-no` sends it again, once', async () => {
      const no = generateId('payment');
      fault(options.createMatch, { kind: 'status', status: 500, times: 0 });
      const first = await pay(createArgs(no));
      fx.sandbox.clearFaults(channelId);
      expect(first.code, first.stderr).toBe(3);
      expect(await localStatus(no)).toBe('created');
      // The channel never saw it: the query says so and leaves the order re-sendable.
      const q = await pay(['query', no]);
      expect(q.code, q.stderr).toBe(0);
      expect(q.json).toMatchObject({ status: 'created', notAtChannel: true });
      expect(await localStatus(no)).toBe('created');
      const sent = fx.sandbox.requests(channelId).filter((r) => matches(options.createMatch, r)).length;
      const again = await pay(createArgs(no));
      expect(again.code, again.stderr).toBe(0);
      expect(again.json).toMatchObject({ orderNo: no, existing: true, status: 'pending' });
      expect(again.json.payload, 'the re-sent create brings what the payer needs').toBeTruthy();
      expect(fx.sandbox.requests(channelId).filter((r) => matches(options.createMatch, r)).length, 'the create was sent again').toBeGreaterThan(sent);
      if (typeof again.json.channelTradeNo === 'string') tradeNos.set(no, again.json.channelTradeNo);
      expect(await countOrders(no)).toBe(1);
      const later = await pay(['query', no]);
      expect(later.code, later.stderr).toBe(0);
      expect(later.json.status).toBe('pending');
      // A second create with the same number sends nothing and charges nothing.
      const third = await pay(createArgs(no));
      expect(third.json).toMatchObject({ orderNo: no, existing: true, status: 'pending' });
      expect(await countOrders(no)).toBe(1);
    });

    const lostRefund = 'a refund lost to a 500, then a query: the refund stays created and `pay refund --refund-no` sends it again';
    if (!options.refundMatch) it.skip(`${lostRefund} (skipped: no refundMatch)`, () => {});
    else
      step('lostRefund', lostRefund, async () => {
        const refundMatch = options.refundMatch!;
        const no = generateId('payment');
        const c = await pay(createArgs(no));
        expect(c.code, c.stderr).toBe(0);
        await fx.sandbox.pay(channelId, no);
        await eventually(`${no} paid`, async () => (await pay(['query', no])).json.status === 'succeeded');
        const refundNo = generateId('refund');
        const refundArgs = ['refund', no, '--amount', '1.00', '--refund-no', refundNo];
        fault(refundMatch, { kind: 'status', status: 500, times: 0 });
        const first = await pay(refundArgs);
        fx.sandbox.clearFaults(channelId);
        expect(first.code, first.stderr).toBe(3);
        // The channel never saw it: the query says so and leaves the refund re-sendable.
        const q = await pay(['query', no]);
        expect(q.code, q.stderr).toBe(0);
        expect(q.json.refundsNotAtChannel).toEqual([refundNo]);
        expect(q.json.refunds).toMatchObject([{ refundNo, status: 'created' }]);
        const sent = fx.sandbox.requests(channelId).filter((r) => matches(refundMatch, r)).length;
        // Sent again by its number alone: its own amount, not "what is left".
        const again = await pay(['refund', no, '--refund-no', refundNo]);
        expect(again.code, again.stderr).toBe(0);
        expect(again.json).toMatchObject({ refundNo, existing: true, amount: '1.00' });
        expect(['pending', 'succeeded']).toContain(again.json.status);
        expect(fx.sandbox.requests(channelId).filter((r) => matches(refundMatch, r)).length, 'the refund was sent again').toBe(sent + 1);
        const later = await pay(['query', no]);
        expect(later.code, later.stderr).toBe(0);
        expect(later.json.refundsNotAtChannel).toBeUndefined();
        expect(later.json.refunds.map((r: { status: string }) => r.status)).not.toContain('created');
      });

    step('retryQuery', '503 then success: a query is retried and succeeds', async () => {
      fault(options.queryMatch, { kind: 'status', status: 503 });
      const r = await pay(['query', pendingNo]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.status).toBe('pending');
      const qs = requestsFor(options.queryMatch, pendingNo).slice(-2);
      expect(qs.map((q) => q.status)).toEqual([503, 200]);
    });

    step('retryCreate', '503 on create: the create is never duplicated at the simulator', async () => {
      const no = generateId('payment');
      fault(options.createMatch, { kind: 'status', status: 503 });
      const first = await pay(createArgs(no));
      if (first.code !== 0) {
        // Not retried by the client (not marked idempotent): a channel error, the order kept.
        expect(first.code).toBe(3);
        expect(await localStatus(no)).toBe('created');
        const again = await pay(createArgs(no));
        expect(again.code, again.stderr).toBe(0);
      }
      const once = await pay(createArgs(no));
      expect(once.code, once.stderr).toBe(0);
      expect(await countOrders(no)).toBe(1);
    });

    step('rateLimit', '429 with Retry-After: the query waits and is retried', async () => {
      fault(options.queryMatch, { kind: 'status', status: 429, retryAfter: 1, ...(options.rateLimitBody ? { body: options.rateLimitBody } : {}) });
      const started = Date.now();
      const r = await pay(['query', pendingNo]);
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(requestsFor(options.queryMatch, pendingNo).slice(-2).map((q) => q.status)).toEqual([429, 200]);
    });

    step('exhausted', '5xx on every attempt: SYSTEM_ERROR, exit 3, the order unchanged', async () => {
      const before = await localStatus(pendingNo);
      fault(options.queryMatch, { kind: 'status', status: 503, times: 0 });
      const r = await pay(['query', pendingNo]);
      fx.sandbox.clearFaults(channelId);
      expect(r.code, r.stderr).toBe(3);
      expect(options.exhaustedCodes ?? ['SYSTEM_ERROR']).toContain(errorOf(r).code);
      expect(await localStatus(pendingNo)).toBe(before);
    });

    step('malformed', 'a malformed answer: CHANNEL_ERROR with an excerpt, exit 3, the order unchanged', async () => {
      const before = await localStatus(pendingNo);
      fault(options.queryMatch, { kind: 'malformed' });
      const r = await pay(['query', pendingNo]);
      expect(r.code, r.stderr).toBe(3);
      const e = errorOf(r);
      expect(options.malformedCodes ?? ['CHANNEL_ERROR']).toContain(e.code);
      if (options.malformedExcerpt ?? true) {
        const served = requestsFor(options.queryMatch, pendingNo).at(-1)?.responseExcerpt ?? '';
        const probe = served.trim().slice(0, 10);
        expect(probe.length).toBeGreaterThan(0);
        expect(e.text.some((t) => t.includes(probe)), `the error should quote the answer (${JSON.stringify(probe)}): ${JSON.stringify(e.text)}`).toBe(true);
      }
      expect(await localStatus(pendingNo)).toBe(before);
    });

    for (const kind of ['badSignature', 'missingSignature'] as const) {
      step(kind, `${kind === 'badSignature' ? 'a bad' : 'a missing'} response signature: rejected, the order unchanged`, async () => {
        const before = await localStatus(pendingNo);
        await fx.sandbox.pay(channelId, pendingNo).catch(() => {});
        fault(options.queryMatch, { kind });
        const r = await pay(['query', pendingNo]);
        fx.sandbox.clearFaults(channelId);
        // An answer that cannot be trusted leaves the outcome unknown: a channel error, exit 3.
        expect(r.code).toBe(3);
        expect(options.signatureCodes ?? ['SIGNATURE_INVALID', 'CHANNEL_ERROR']).toContain(errorOf(r).code);
        // The (now paid) state in the tampered answer was not applied.
        expect(await localStatus(pendingNo)).toBe(before);
      });
    }

    it('nothing lost: every order is in the book once and the channel still answers', async () => {
      const r = await pay(['orders', 'list', '--limit', '1000']);
      expect(r.code, r.stderr).toBe(0);
      const nos: string[] = r.json.orders.map((o: { orderNo: string }) => o.orderNo);
      expect(new Set(nos).size).toBe(nos.length);
      expect(nos).toContain(pendingNo);
      const q = await pay(['query', pendingNo]);
      expect(q.code, q.stderr).toBe(0);
    });

    it('the order book and its event log never hold a secret setting', async () => {
      const shown = await pay(['orders', 'show', pendingNo]);
      expect(shown.code, shown.stderr).toBe(0);
      expectNoSecrets(fx, JSON.stringify(shown.json));
    });
  });
}

/** Reads a file the suites wrote (for channel tests that want to inspect the temporary config). */
export function readConfig(fx: SandboxFixture): unknown {
  return JSON.parse(readFileSync(fx.config, 'utf8'));
}
