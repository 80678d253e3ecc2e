/**
 * The mock channel adapter: an in-process stand-in for a real provider. Orders progress over
 * time (pending, then succeeded or failed after `settleAfterMs`, decided by the seed), payouts
 * draw on a balance it keeps, errors play on demand, callbacks are HMAC-signed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BalanceEntry,
  BillRow,
  BillSource,
  CallbackVerdict,
  ChannelAdapter,
  ChannelDeps,
  CheckResult,
  CollectRequest,
  CollectResult,
  DownloadedBill,
  OrderRef,
  OrderState,
  PayoutRequest,
  RawRequest,
  ReadBillOptions,
  RefundRef,
  RefundRequest,
  RefundState,
  VerifyOptions,
} from '../../src/channel/contract.js';
import { PayError, configError } from '../../src/core/errors.js';
import { formatAmount, parseAmount } from '../../src/core/money.js';
import { seededRandom as prng } from '../../src/core/random.js';
import { isoUtc } from '../../src/core/time.js';
import { buildCallback, mockCallbacks, type MockEventType } from './callback.js';
import { readMockBill, writeMockBill } from './bill.js';
import type { Latency, MockConfig, MockScenario } from './config.js';
import { MemoryMockState, SqliteMockState, isPaid, type MockState, type MockTrade } from './state.js';

/** A uniform number in [0, 1) fixed by seed and key: the same order always gets the same fate. */
function unitHash(seed: number, key: string): number {
  const h = createHash('sha256').update(`${seed}:${key}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** Fee in minor units for `bps` basis points, rounded half up, in exact integer arithmetic. */
export function feeFor(amountMinor: number, bps: number): number {
  return Number((BigInt(amountMinor) * BigInt(bps) + 5000n) / 10000n);
}

// Random bytes for trade numbers come from a pool refilled 4 KiB at a time: one randomBytes call
// per trade cost more than the rest of a collect under load (pay loadtest).
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function tradeNo(prefix: string): string {
  if (randomOffset + 8 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomOffset = 0;
  }
  const hex = randomPool.toString('hex', randomOffset, (randomOffset += 8)).toUpperCase();
  return `${prefix}${Date.now().toString(36).toUpperCase()}${hex}`;
}

const DECLINE = { code: 'DECLINED', message: "the payer's bank declined the payment (mock)", providerCode: 'MOCK_DECLINED' };

/** The mock adapter. */
export class MockAdapter implements ChannelAdapter {
  private readonly rand: () => number;

  constructor(
    private readonly config: MockConfig,
    private readonly deps: ChannelDeps,
    private readonly state: MockState,
  ) {
    this.rand = prng(config.seed);
  }

  /** Opens the books (persisted beside the database unless `persist` is false). */
  static create(config: MockConfig, deps: ChannelDeps): MockAdapter {
    return new MockAdapter(config, deps, config.persist ? new SqliteMockState(() => deps.stateDir) : new MemoryMockState());
  }

  private latencyMs(l: Latency): number {
    switch (l.kind) {
      case 'fixed':
        return l.ms;
      case 'uniform':
        return l.min + (l.max - l.min) * this.rand();
      case 'normal': {
        // Box-Muller; clamped at zero.
        const u = 1 - this.rand();
        const v = this.rand();
        return Math.max(0, l.mean + l.stddev * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
      }
      case 'exponential':
        return -l.mean * Math.log(1 - this.rand());
    }
  }

  private async delay(): Promise<void> {
    const ms = this.latencyMs(this.config.latency);
    if (ms > 0) await sleep(ms);
  }

  private scenario(op: string): MockScenario | undefined {
    const s = this.config.scenario;
    if (!s) return undefined;
    if (this.config.scenarioOps && !this.config.scenarioOps.includes(op)) return undefined;
    return this.config.scenarioRate >= 1 || this.rand() < this.config.scenarioRate ? s : undefined;
  }

  private throwScenario(s: MockScenario, op: string): never {
    switch (s) {
      case 'RATE_LIMITED':
        throw new PayError('RATE_LIMITED', `mock channel rate-limited ${op} (scenario)`, { channel: 'mock', providerCode: 'MOCK_RATE_LIMITED', hint: 'Retry later; the same order number is safe to reuse.' });
      case 'TIMEOUT':
        throw new PayError('TIMEOUT', `mock channel did not answer ${op} in time (scenario)`, { channel: 'mock', hint: 'The outcome is unknown: `pay query` resolves it.' });
      case 'SYSTEM_ERROR':
        throw new PayError('SYSTEM_ERROR', `mock channel had a system error on ${op} (scenario)`, { channel: 'mock', providerCode: 'MOCK_SYSTEM_ERROR' });
      case 'INSUFFICIENT_BALANCE':
        throw new PayError('INSUFFICIENT_BALANCE', `mock account balance is too low for this ${op} (scenario)`, { channel: 'mock', providerCode: 'MOCK_BALANCE_NOT_ENOUGH' });
      default:
        throw new PayError('SYSTEM_ERROR', `mock scenario ${s} does not apply to ${op}`);
    }
  }

  private initialMinor = (currency: string): number => {
    const text = this.config.balance[currency] ?? this.config.balance['*'] ?? '0';
    try {
      return parseAmount(text, currency, { allowZero: true, allowTrailingZeros: true });
    } catch (err) {
      throw configError(`channels.mock.balance for ${currency}: ${(err as Error).message}`);
    }
  };

  private stateOf(t: MockTrade, now: number): OrderState {
    const base = { channelTradeNo: t.tradeNo, amountMinor: t.amountMinor, currency: t.currency };
    if (t.closedMs !== undefined && !isPaid(t, now)) return { ...base, status: 'closed', providerStatus: 'CLOSED' };
    if (now < t.settleMs) return { ...base, status: 'pending', providerStatus: 'PENDING' };
    if (t.outcome === 'succeeded') return { ...base, status: 'succeeded', providerStatus: 'SUCCESS', paidAt: isoUtc(t.settleMs) };
    return { ...base, status: 'failed', providerStatus: 'FAILED', failure: { ...DECLINE, code: t.failureCode ?? DECLINE.code } };
  }

  /** Runs one operation with latency, scenarios and an event-log record. */
  private async call<T>(
    op: string,
    ids: { orderNo?: string; refundNo?: string },
    request: unknown,
    fn: (scenario: MockScenario | undefined) => T | Promise<T>,
    summarize: (r: T) => unknown,
  ): Promise<T> {
    const started = performance.now();
    try {
      await this.delay();
      const s = this.scenario(op);
      // A timeout hides the outcome: the operation happens, the answer is lost.
      if (s === 'TIMEOUT') {
        await fn(s);
        this.throwScenario(s, op);
      }
      if (s && s !== 'DECLINED' && !(s === 'INSUFFICIENT_BALANCE' && op !== 'payout')) this.throwScenario(s, op);
      const result = await fn(s);
      this.deps.record({ operation: `mock.${op}`, ...ids, request, response: summarize(result), durationMs: performance.now() - started });
      return result;
    } catch (err) {
      const e = err as PayError;
      this.deps.record({
        operation: `mock.${op}`,
        ...ids,
        request,
        error: { code: e.code ?? 'SYSTEM_ERROR', message: e.message, providerCode: e.providerCode },
        durationMs: performance.now() - started,
      });
      throw err;
    }
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    return this.call(
      'collect',
      { orderNo: req.orderNo },
      { amountMinor: req.amountMinor, currency: req.currency, method: req.method ?? 'qr' },
      (scenario) => {
        const now = this.deps.clock();
        const declined = scenario === 'DECLINED';
        const { trade } = this.state.insertTrade({
          orderNo: req.orderNo,
          tradeNo: tradeNo('MT'),
          kind: 'collect',
          amountMinor: req.amountMinor,
          currency: req.currency,
          feeMinor: feeFor(req.amountMinor, this.config.feeBps),
          createdMs: now,
          settleMs: declined ? now : now + this.config.settleAfterMs,
          // unitHash is below 1, so with successRate 1 the hash (a sha256 per order) is skipped.
          outcome: declined || (this.config.successRate < 1 && unitHash(this.config.seed, req.orderNo) >= this.config.successRate) ? 'failed' : 'succeeded',
        });
        if (trade.amountMinor !== req.amountMinor || trade.currency !== req.currency) {
          throw new PayError('INVALID_REQUEST', `mock channel already has ${req.orderNo} with a different amount`, { channel: 'mock', providerCode: 'MOCK_ORDER_MISMATCH' });
        }
        const s = this.stateOf(trade, now);
        const result: CollectResult = {
          status: s.status,
          channelTradeNo: trade.tradeNo,
          payload: { qrCode: `mockpay://pay?trade=${trade.tradeNo}&amount=${formatAmount(trade.amountMinor, trade.currency)}&currency=${trade.currency}` },
        };
        if (s.paidAt) result.paidAt = s.paidAt;
        if (s.failure) result.failure = s.failure;
        return result;
      },
      (r) => ({ status: r.status, channelTradeNo: r.channelTradeNo }),
    );
  }

  private trade(orderNo: string, op: string): MockTrade {
    const t = this.state.getTrade(orderNo);
    if (!t) {
      throw new PayError('ORDER_NOT_FOUND', `mock channel has no trade ${orderNo}`, {
        channel: 'mock',
        providerCode: 'MOCK_TRADE_NOT_EXIST',
        hint: op === 'query' ? 'The create never reached the channel; it is safe to create again with the same order number.' : undefined,
      });
    }
    return t;
  }

  async queryCollect(ref: OrderRef): Promise<OrderState> {
    return this.call('query', { orderNo: ref.orderNo }, {}, () => this.stateOf(this.trade(ref.orderNo, 'query'), this.deps.clock()), (r) => ({ status: r.status }));
  }

  async closeCollect(ref: OrderRef): Promise<OrderState> {
    return this.call(
      'close',
      { orderNo: ref.orderNo },
      {},
      () => {
        const now = this.deps.clock();
        const t = this.trade(ref.orderNo, 'close');
        const s = this.stateOf(t, now);
        if (s.status !== 'pending') return s;
        this.state.closeTrade(ref.orderNo, now);
        return this.stateOf(this.trade(ref.orderNo, 'close'), now);
      },
      (r) => ({ status: r.status }),
    );
  }

  private refundState(r: { refundTradeNo: string; settleMs: number }, now: number): RefundState {
    return now < r.settleMs
      ? { status: 'pending', channelRefundNo: r.refundTradeNo, providerStatus: 'PROCESSING' }
      : { status: 'succeeded', channelRefundNo: r.refundTradeNo, providerStatus: 'SUCCESS', refundedAt: isoUtc(r.settleMs) };
  }

  async refund(req: RefundRequest): Promise<RefundState> {
    return this.call(
      'refund',
      { orderNo: req.orderNo, refundNo: req.refundNo },
      { amountMinor: req.amountMinor, currency: req.currency },
      () => {
        const now = this.deps.clock();
        const existing = this.state.getRefund(req.refundNo);
        if (existing) return this.refundState(existing, now);
        const t = this.trade(req.orderNo, 'refund');
        if (t.kind !== 'collect' || !isPaid(t, now)) {
          throw new PayError('INVALID_REQUEST', `mock channel: trade ${req.orderNo} is not paid, nothing to refund`, { channel: 'mock', providerCode: 'MOCK_TRADE_STATUS_ERROR' });
        }
        const refunded = this.state.refundsOf(req.orderNo).reduce((s, r) => s + r.amountMinor, 0);
        if (refunded + req.amountMinor > t.amountMinor) {
          throw new PayError('INVALID_REQUEST', `mock channel: refund exceeds the trade's remaining amount`, { channel: 'mock', providerCode: 'MOCK_REFUND_AMOUNT_EXCEEDED' });
        }
        const { refund } = this.state.insertRefund({
          refundNo: req.refundNo,
          orderNo: req.orderNo,
          refundTradeNo: tradeNo('MR'),
          amountMinor: req.amountMinor,
          currency: t.currency,
          createdMs: now,
          settleMs: now + this.config.settleAfterMs,
        });
        return this.refundState(refund, now);
      },
      (r) => ({ status: r.status, channelRefundNo: r.channelRefundNo }),
    );
  }

  async queryRefund(ref: RefundRef): Promise<RefundState> {
    return this.call(
      'queryRefund',
      { orderNo: ref.orderNo, refundNo: ref.refundNo },
      {},
      () => {
        const r = this.state.getRefund(ref.refundNo);
        if (!r) throw new PayError('ORDER_NOT_FOUND', `mock channel has no refund ${ref.refundNo}`, { channel: 'mock', providerCode: 'MOCK_REFUND_NOT_EXIST' });
        return this.refundState(r, this.deps.clock());
      },
      (r) => ({ status: r.status }),
    );
  }

  async payout(req: PayoutRequest): Promise<OrderState> {
    return this.call(
      'payout',
      { orderNo: req.orderNo },
      { amountMinor: req.amountMinor, currency: req.currency },
      (scenario) => {
        const now = this.deps.clock();
        const declined = scenario === 'DECLINED';
        const inserted = this.state.insertPayout(
          {
            orderNo: req.orderNo,
            tradeNo: tradeNo('MP'),
            kind: 'payout',
            amountMinor: req.amountMinor,
            currency: req.currency,
            feeMinor: 0,
            createdMs: now,
            settleMs: declined ? now : now + this.config.settleAfterMs,
            outcome: declined || unitHash(this.config.seed, req.orderNo) >= this.config.successRate ? 'failed' : 'succeeded',
            failureCode: declined ? 'PAYEE_ACCOUNT_INVALID' : undefined,
            payee: req.payee,
          },
          this.initialMinor,
          now,
        );
        if (!inserted) {
          throw new PayError('INSUFFICIENT_BALANCE', `mock account has less than ${formatAmount(req.amountMinor, req.currency)} ${req.currency} available`, {
            channel: 'mock',
            providerCode: 'MOCK_BALANCE_NOT_ENOUGH',
            hint: 'Check `pay balance --channel mock`, or raise channels.mock.balance.',
          });
        }
        return this.stateOf(inserted.trade, now);
      },
      (r) => ({ status: r.status, channelTradeNo: r.channelTradeNo }),
    );
  }

  async queryPayout(ref: OrderRef): Promise<OrderState> {
    return this.call('queryPayout', { orderNo: ref.orderNo }, {}, () => this.stateOf(this.trade(ref.orderNo, 'query'), this.deps.clock()), (r) => ({ status: r.status }));
  }

  async balance(): Promise<BalanceEntry[]> {
    return this.call('balance', {}, {}, () => {
      const now = this.deps.clock();
      const list = this.state.balances(now, this.initialMinor);
      return list.map((b) => ({ currency: b.currency, availableMinor: b.availableMinor, pendingMinor: b.pendingMinor }));
    }, (r) => ({ currencies: r.length }));
  }

  async verifyCallback(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict> {
    return mockCallbacks.verify(request, this.config, options);
  }

  readBill(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow> {
    return readMockBill(source, options);
  }

  async downloadBill(options: { date: string; dir: string }): Promise<DownloadedBill> {
    const path = join(options.dir, `mock-bill-${options.date}.csv`);
    await writeMockBill(this.state, options.date, path);
    return { path, format: 'mock-csv' };
  }

  async check(): Promise<CheckResult> {
    return { ok: true, detail: this.config.persist ? `in-process; books in ${this.deps.stateDir}` : 'in-process; books in memory', latencyMs: 0 };
  }

  /**
   * Builds the signed notification the mock would send for an order (or one of its refunds) in
   * its current state. Not part of the contract: `pay listen`'s tests and the demo use it.
   */
  buildCallback(orderNo: string, options: { refundNo?: string; target?: string } = {}): RawRequest {
    const now = this.deps.clock();
    const t = this.trade(orderNo, 'notify');
    let type: MockEventType;
    let amountMinor = t.amountMinor;
    let status: string;
    if (options.refundNo) {
      const r = this.state.getRefund(options.refundNo);
      if (!r) throw new PayError('ORDER_NOT_FOUND', `mock channel has no refund ${options.refundNo}`);
      const rs = this.refundState(r, now);
      type = rs.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed';
      status = rs.status;
      amountMinor = r.amountMinor;
    } else {
      const s = this.stateOf(t, now);
      const word = t.kind === 'collect' ? 'payment' : 'payout';
      type = `${word}.${s.status === 'succeeded' ? 'succeeded' : 'failed'}` as MockEventType;
      status = s.status;
    }
    return buildCallback(
      this.config.webhookSecret,
      type,
      { orderNo, tradeNo: t.tradeNo, refundNo: options.refundNo, amount: formatAmount(amountMinor, t.currency), currency: t.currency, status },
      { nowMs: now, target: options.target },
    );
  }

  async close(): Promise<void> {
    this.state.close();
  }
}
