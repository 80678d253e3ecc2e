/**
 * The channel target (`pay loadtest --channel <id>`): contract operations through a channel
 * adapter from the registry, in-process for `mock` and over the shared HTTP client for the real
 * channels and their sandbox simulators.
 *
 * Every collect carries a fresh merchant order number from core/ids. Queries and refunds need
 * orders that exist (and, for refunds, are paid), so `prepare` creates a pool of them before the
 * clock starts; during a mixed run, new collects join the query pool.
 */
import type { CollectRequest, CollectResult, OrderRef, OrderState, RefundRequest, RefundState } from '../channel/contract.js';
import { isPayError, PayError } from '../core/errors.js';
import { generateId } from '../core/ids.js';
import { isoUtc, type Clock } from '../core/time.js';
import type { Done, SendError, Target } from './target.js';

/** Operations a channel load test can drive. */
export type LoadOp = 'collect' | 'query' | 'refund';

export const LOAD_OPS: readonly LoadOp[] = ['collect', 'query', 'refund'];

/** Weights of a mixed run (`collect=50,query=40,refund=10`). */
export type OpMix = Partial<Record<LoadOp, number>>;

/** Default weights of `--op mixed`. */
export const DEFAULT_MIX: Readonly<Record<LoadOp, number>> = { collect: 50, query: 40, refund: 10 };

/**
 * The calls the target makes. By default the adapter's own methods; with `--db` the command wraps
 * them so each call is recorded in the order book exactly as `pay create`/`query`/`refund` would.
 */
export interface ChannelCalls {
  collect(req: CollectRequest): Promise<CollectResult>;
  query(ref: OrderRef): Promise<OrderState>;
  refund(req: RefundRequest): Promise<RefundState>;
}

/** Options of the channel target. */
export interface ChannelTargetOptions {
  /** Channel id, for the description. */
  channel: string;
  /** Where the channel runs: `in-process` or its base URL. */
  where: string;
  inProcess: boolean;
  calls: ChannelCalls;
  /** Operation weights (a single op is `{ op: 1 }`). */
  mix: OpMix;
  amountMinor: number;
  currency: string;
  /** Payment method for collects (the channel's default when absent). */
  method?: string;
  /** Orders created before the run for queries and refunds. */
  seedOrders: number;
  /** How long to wait for seeded orders to be paid (refunds), ms. */
  seedTimeoutMs: number;
  clock: Clock;
  /** Progress for people while seeding. */
  notice?: (message: string) => void;
  /**
   * Pays a seeded order as the payer would, where the target can (a sandbox simulator's control
   * API); without it, refund runs wait for orders the channel settles by itself (the mock).
   */
  payOrder?: (orderNo: string) => Promise<void>;
}

/** An order the run can query or refund. */
interface PoolOrder extends OrderRef {
  /** Left to refund, minor units. */
  remainingMinor: number;
}

/** Standard code and message of a thrown error. */
export function sendErrorOf(err: unknown): SendError {
  if (isPayError(err)) return { code: err.code, message: err.message, httpStatus: err.httpStatus };
  return { code: 'SYSTEM_ERROR', message: `unexpected: ${(err as Error)?.message ?? String(err)}` };
}

/** Codes that mean the channel cannot be used at all (stop before measuring). */
const FATAL = new Set(['CHANNEL_ERROR', 'TIMEOUT', 'AUTHENTICATION_FAILED', 'CONFIG_ERROR']);

/** Smooth weighted round-robin: exact proportions, evenly interleaved, no random draws. */
export class WeightedCycle<T> {
  private readonly items: { value: T; weight: number; current: number }[];
  private readonly total: number;

  constructor(weights: [T, number][]) {
    this.items = weights.filter(([, w]) => w > 0).map(([value, weight]) => ({ value, weight, current: 0 }));
    this.total = this.items.reduce((s, i) => s + i.weight, 0);
    if (this.items.length === 0) throw new PayError('INVALID_REQUEST', 'an operation mix needs at least one positive weight');
  }

  next(): T {
    if (this.items.length === 1) return this.items[0].value;
    let best = this.items[0];
    for (const it of this.items) {
      it.current += it.weight;
      if (it.current > best.current) best = it;
    }
    best.current -= this.total;
    return best.value;
  }
}

/** Keeps at most this many orders for queries (oldest dropped first). */
const QUERY_POOL_MAX = 4096;

/** The channel target. */
export class ChannelTarget implements Target {
  readonly description: string;
  readonly inProcess: boolean;
  private readonly cycle: WeightedCycle<LoadOp>;
  private readonly queryPool: OrderRef[] = [];
  private queryNext = 0;
  private queryWrite = 0;
  private readonly refundPool: PoolOrder[] = [];
  private refundNext = 0;
  private readonly uses: Record<LoadOp, boolean>;
  private seeded = { created: 0, paid: 0 };
  private readonly subject: string;

  constructor(private readonly o: ChannelTargetOptions) {
    const weights = LOAD_OPS.map((op) => [op, o.mix[op] ?? 0] as [LoadOp, number]);
    this.cycle = new WeightedCycle(weights);
    this.uses = { collect: (o.mix.collect ?? 0) > 0, query: (o.mix.query ?? 0) > 0, refund: (o.mix.refund ?? 0) > 0 };
    const ops = weights.filter(([, w]) => w > 0).map(([op, w]) => (weights.filter(([, x]) => x > 0).length > 1 ? `${op}=${w}` : op));
    this.description = `${o.channel} ${ops.join(',')} (${o.where})`;
    this.inProcess = o.inProcess;
    this.subject = 'pay loadtest';
  }

  private collectRequest(): CollectRequest {
    return { orderNo: generateId('payment'), amountMinor: this.o.amountMinor, currency: this.o.currency, subject: this.subject, method: this.o.method };
  }

  private refOf(req: CollectRequest, res: CollectResult, createdAt: string): OrderRef {
    return { orderNo: req.orderNo, channelTradeNo: res.channelTradeNo, amountMinor: req.amountMinor, currency: req.currency, method: req.method, createdAt };
  }

  private remember(ref: OrderRef): void {
    if (this.queryPool.length < QUERY_POOL_MAX) this.queryPool.push(ref);
    else {
      this.queryPool[this.queryWrite] = ref;
      this.queryWrite = (this.queryWrite + 1) % QUERY_POOL_MAX;
    }
  }

  send(done: Done): void {
    const op = this.cycle.next();
    let p: Promise<unknown>;
    try {
      p = op === 'collect' ? this.collect() : op === 'query' ? this.query() : this.refund();
    } catch (err) {
      done(sendErrorOf(err));
      return;
    }
    p.then(
      () => done(undefined),
      (err) => done(sendErrorOf(err)),
    );
  }

  private collect(): Promise<unknown> {
    const req = this.collectRequest();
    if (!this.uses.query) return this.o.calls.collect(req);
    const createdAt = isoUtc(this.o.clock());
    return this.o.calls.collect(req).then((res) => this.remember(this.refOf(req, res, createdAt)));
  }

  private query(): Promise<unknown> {
    const pool = this.queryPool;
    const ref = pool[this.queryNext++ % pool.length];
    return this.o.calls.query(ref);
  }

  private refund(): Promise<unknown> {
    const pool = this.refundPool;
    if (pool.length === 0) {
      throw new PayError('INVALID_REQUEST', 'every seeded order is fully refunded', { hint: 'Raise --amount or --seed-orders so the run has more to refund.' });
    }
    const i = this.refundNext++ % pool.length;
    const order = pool[i];
    // The smallest refund the currency allows: the pool lasts amount/1 refunds per order.
    order.remainingMinor -= 1;
    if (order.remainingMinor <= 0) pool.splice(i, 1);
    return this.o.calls.refund({
      orderNo: order.orderNo,
      refundNo: generateId('refund'),
      channelTradeNo: order.channelTradeNo,
      amountMinor: 1,
      totalMinor: order.amountMinor,
      currency: order.currency,
      reason: 'pay loadtest',
      orderCreatedAt: order.createdAt,
    });
  }

  async prepare(): Promise<void> {
    const needPool = this.uses.query || this.uses.refund;
    const want = needPool ? Math.max(1, this.o.seedOrders) : 1;
    const created: OrderRef[] = [];
    let attempts = 0;
    // Orders being created or created: workers claim one before calling, so none overshoots.
    let claimed = 0;
    let lastError: SendError | undefined;
    if (needPool) this.o.notice?.(`creating ${want} order${want === 1 ? '' : 's'} to ${this.uses.refund ? 'refund' : 'query'} (not measured)...`);
    // A few at a time: fast against the mock, polite against a sandbox.
    const parallel = Math.min(16, want);
    const worker = async () => {
      while (claimed < want && attempts < want * 3) {
        attempts++;
        claimed++;
        const req = this.collectRequest();
        const createdAt = isoUtc(this.o.clock());
        try {
          const res = await this.o.calls.collect(req);
          // A declined order cannot be queried for progress or refunded; for collect-only runs
          // any answer proves the channel works.
          if (needPool && (res.status === 'failed' || res.status === 'closed')) claimed--;
          else created.push(this.refOf(req, res, createdAt));
        } catch (err) {
          claimed--;
          lastError = sendErrorOf(err);
          if (FATAL.has(lastError.code)) throw this.unusable(lastError);
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    if (created.length === 0) {
      throw new PayError('CHANNEL_ERROR', `${this.o.channel} accepted none of ${attempts} orders created before the run${lastError ? ` (last error ${lastError.code}: ${lastError.message})` : ''}`, {
        hint: 'Check the channel with `pay channels check`, or the mock settings (scenario, successRate).',
      });
    }
    this.seeded.created = created.length;
    if (this.uses.query) for (const ref of created) this.remember(ref);
    if (this.uses.refund) await this.waitPaid(created);
  }

  /** Polls seeded orders until paid; the paid ones form the refund pool. */
  private async waitPaid(orders: OrderRef[]): Promise<void> {
    const deadline = Date.now() + this.o.seedTimeoutMs;
    let waiting = orders;
    const payOrder = this.o.payOrder;
    if (payOrder) {
      this.o.notice?.(`paying ${orders.length} orders through the sandbox payer before refunding...`);
      let next = 0;
      const payer = async () => {
        while (next < orders.length) {
          const ref = orders[next++];
          // An order the payer could not pay simply stays out of the refund pool.
          await payOrder(ref.orderNo).catch(() => {});
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, orders.length) }, payer));
    }
    this.o.notice?.(`waiting for ${orders.length} orders to be paid before refunding...`);
    while (waiting.length > 0 && Date.now() < deadline) {
      const still: OrderRef[] = [];
      for (const ref of waiting) {
        try {
          const state = await this.o.calls.query(ref);
          if (state.status === 'succeeded') this.refundPool.push({ ...ref, channelTradeNo: state.channelTradeNo ?? ref.channelTradeNo, remainingMinor: ref.amountMinor });
          else if (state.status === 'pending' || state.status === 'created') still.push(ref);
        } catch (err) {
          const e = sendErrorOf(err);
          if (FATAL.has(e.code)) throw this.unusable(e);
          still.push(ref);
        }
      }
      waiting = still;
      if (waiting.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    this.seeded.paid = this.refundPool.length;
    if (this.refundPool.length === 0) {
      throw new PayError('CHANNEL_ERROR', `none of the ${orders.length} orders created for refunds was paid within ${Math.round(this.o.seedTimeoutMs / 1000)} s`, {
        hint:
          this.o.channel === 'mock'
            ? 'Check channels.mock.successRate and settleAfterMs.'
            : 'Refund load needs paid orders: in a sandbox, orders are paid by its payer simulation; use --op collect or query otherwise.',
      });
    }
  }

  private unusable(e: SendError): PayError {
    return new PayError(e.code === 'TIMEOUT' ? 'TIMEOUT' : e.code === 'AUTHENTICATION_FAILED' ? 'AUTHENTICATION_FAILED' : e.code === 'CONFIG_ERROR' ? 'CONFIG_ERROR' : 'CHANNEL_ERROR', `${this.o.channel} cannot be load-tested: ${e.message}`, {
      hint: 'Nothing was measured. Check the channel with `pay channels check`.',
    });
  }

  details(): Record<string, unknown> {
    return {
      kind: 'channel',
      channel: this.o.channel,
      where: this.o.where,
      seededOrders: this.seeded.created,
      ...(this.uses.refund ? { paidSeedOrders: this.seeded.paid } : {}),
    };
  }

  async close(): Promise<void> {}
}
