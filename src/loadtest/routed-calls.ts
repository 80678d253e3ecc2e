/**
 * `pay loadtest --channel auto`: the calls of a load test routed by a routing rule. Each collect
 * is planned (priority, weighted draw, health skip) and goes to the first target that takes it,
 * falling back only after a failure that certainly did nothing there; queries and refunds go to
 * the channel that took the order. The split per channel is counted for the summary.
 */
import type { CollectRequest, CollectResult, OrderRef, OrderState, RefundRequest, RefundState } from '../channel/contract.js';
import { certainlyNotSent } from '../channel/http-client.js';
import { PayError } from '../core/errors.js';
import { planRoute, type HealthFigures, type RouteRule, type RoutingConfig } from '../core/routing.js';
import type { ChannelCalls } from './channel-target.js';

/** One target channel of the run. */
export interface RoutedChannel {
  id: string;
  calls: ChannelCalls;
  /** The sandbox payer of this channel, where there is one. */
  payOrder?: (orderNo: string) => Promise<void>;
}

/** Options of {@link RoutedCalls}. */
export interface RoutedCallsOptions {
  config: RoutingConfig;
  rule: RouteRule;
  channels: RoutedChannel[];
  random: () => number;
  health?: (channel: string) => HealthFigures | undefined;
  /** The channel's own name for a rule's method. */
  methodOf: (channel: string, method: string | undefined) => string | undefined;
}

/** Channel calls routed by a rule. */
export class RoutedCalls implements ChannelCalls {
  /**
   * What the summary reports, updated as the run goes: the rule, the collects each channel took,
   * and how many moved on after a failure that certainly did nothing.
   */
  readonly report: { rule: number; source?: string; split: Record<string, number>; fallbacks: number };
  private readonly byId: Map<string, RoutedChannel>;
  /** Which channel holds each order. */
  private readonly owner = new Map<string, RoutedChannel>();

  constructor(private readonly o: RoutedCallsOptions) {
    this.byId = new Map(o.channels.map((c) => [c.id, c]));
    this.report = { rule: o.rule.position, split: Object.fromEntries(o.channels.map((c) => [c.id, 0])), fallbacks: 0 };
  }

  async collect(req: CollectRequest): Promise<CollectResult> {
    const plan = planRoute(this.o.config, this.o.rule, { amountMinor: req.amountMinor, currency: req.currency, method: req.method }, { random: this.o.random, health: this.o.health });
    const order = plan.order.filter((t) => this.byId.has(t.channel));
    if (order.length === 0) throw new PayError('CHANNEL_ERROR', `rule ${this.o.rule.position} has no target to try`);
    for (let i = 0; i < order.length; i++) {
      const ch = this.byId.get(order[i].channel)!;
      this.owner.set(req.orderNo, ch);
      try {
        const res = await ch.calls.collect({ ...req, method: this.o.methodOf(ch.id, req.method) });
        this.report.split[ch.id]++;
        return res;
      } catch (err) {
        if (this.o.config.fallback && i < order.length - 1 && certainlyNotSent(err)) {
          this.report.fallbacks++;
          continue;
        }
        throw err;
      }
    }
    throw new PayError('SYSTEM_ERROR', 'internal: routing ran out of targets without an answer');
  }

  private holder(orderNo: string): RoutedChannel {
    const ch = this.owner.get(orderNo);
    if (!ch) throw new PayError('ORDER_NOT_FOUND', `the load test routed no order ${orderNo}`);
    return ch;
  }

  query(ref: OrderRef): Promise<OrderState> {
    return this.holder(ref.orderNo).calls.query(ref);
  }

  refund(req: RefundRequest): Promise<RefundState> {
    return this.holder(req.orderNo).calls.refund(req);
  }

  /** Pays an order through the sandbox of the channel that took it (refund runs). */
  async payOrder(orderNo: string): Promise<void> {
    const ch = this.holder(orderNo);
    if (!ch.payOrder) throw new PayError('INVALID_REQUEST', `channel ${ch.id} has no sandbox payer`);
    await ch.payOrder(orderNo);
  }
}
