/**
 * `pay create --channel auto`: the routing rules choose the channel. The order row is written
 * (on the first target) before any channel call; each attempt is a `route.attempt` event. After a
 * failure that certainly did nothing at the channel (see `certainlyNotSent`) the order moves to the
 * next target (`order.rerouted`); after any other failure it stays with the channel that had it,
 * for `pay query`, because the payment may have gone through there.
 */
import { PayError } from '../core/errors.js';
import type { RoutePlan } from '../core/routing.js';
import type { CollectRequest, CollectResult } from '../channel/contract.js';
import type { Context } from './context.js';
import { isDefinitiveRejection, withOrderContext } from './lifecycle.js';
import { certainlyNotSent, channelMethod, loadRouting, planPayment, type LoadedRouting } from './route-plan.js';
import type { Order } from '../core/order.js';

/** One attempt of a routed create. */
export interface RouteAttempt {
  channel: string;
  outcome: 'accepted' | 'failed';
  errorCode?: string;
  /** Network failure class (`refused`, `timeout`...), when there was one. */
  errorClass?: string;
  /** True when the next target was tried after this one. */
  fellBack?: boolean;
}

/** How a routed order found its channel. */
export interface RouteSummary {
  rule: number;
  attempts: RouteAttempt[];
  skipped: RoutePlan['skipped'];
}

/** A payment to route (amount and currency already parsed; `method` as the rules name it). */
export interface RoutedCreate extends CollectRequest {
  /** Draws from this generator (a seeded one makes the choice repeatable). */
  random: () => number;
  /** Loaded rules (load once for many payments: `pay loadtest --channel auto`). */
  routing?: LoadedRouting;
  /** Order source (`cli`, `loadtest`). */
  source?: string;
}

/** Creates an order on the channel the rules choose, falling back only where that is safe. */
export async function createRouted(p: RoutedCreate, ctx: Context): Promise<{ order: Order; result: CollectResult; route: RouteSummary }> {
  const routing = p.routing ?? (await loadRouting(ctx));
  const plan = await planPayment(ctx, routing, { amountMinor: p.amountMinor, currency: p.currency, method: p.method }, p.random);
  const route: RouteSummary = { rule: plan.rule.position, attempts: [], skipped: plan.skipped };
  if (plan.order.length === 0) {
    throw new PayError('CHANNEL_ERROR', `rule ${plan.rule.position} has no target to try: ${plan.skipped.map((s) => `${s.channel} ${s.detail}`).join('; ')}`, {
      hint: 'Nothing was sent. `pay routes explain` shows the figures; a target skipped for health is tried again once its success rate recovers.',
      details: { orderNo: p.orderNo },
    });
  }
  const store = await ctx.store();
  let holder: string | undefined;
  for (let i = 0; i < plan.order.length; i++) {
    const target = plan.order[i];
    const last = i === plan.order.length - 1;
    const note = async (a: RouteAttempt) => {
      route.attempts.push(a);
      await store.appendEvent({ type: 'route.attempt', channel: a.channel, orderNo: p.orderNo, data: { rule: plan.rule.position, attempt: i + 1, ...a } });
    };
    const method = channelMethod(routing, target.channel, p.method);
    let collect: ((req: CollectRequest) => Promise<CollectResult>) | undefined;
    try {
      const ch = await ctx.channel(target.channel);
      collect = ch.adapter.collect?.bind(ch.adapter);
      if (!collect) throw new PayError('CONFIG_ERROR', `channel ${target.channel} cannot collect payments`);
    } catch (err) {
      // Nothing was sent: the channel's settings were refused before any call.
      const fellBack = routing.config.fallback && !last && certainlyNotSent(err);
      await note({ channel: target.channel, outcome: 'failed', errorCode: (err as PayError).code, fellBack });
      if (fellBack) continue;
      throw err;
    }
    if (holder === undefined) {
      const { order, created } = await store.createOrder(
        { orderNo: p.orderNo, kind: 'collect', channel: target.channel, amountMinor: p.amountMinor, currency: p.currency, subject: p.subject, method, source: p.source },
        { source: p.source ?? 'cli', detail: { rule: plan.rule.position } },
      );
      if (!created) throw new PayError('INVALID_REQUEST', `order number ${p.orderNo} is already used (${order.channel}, ${order.status})`, { hint: 'Leave out --order-no to get a fresh number.' });
    } else {
      await store.rerouteOrder(p.orderNo, holder, target.channel, { source: 'route.fallback', detail: { rule: plan.rule.position } });
    }
    holder = target.channel;
    try {
      const result = await collect({ orderNo: p.orderNo, amountMinor: p.amountMinor, currency: p.currency, subject: p.subject, method, notifyUrl: p.notifyUrl, returnUrl: p.returnUrl, extra: p.extra });
      await note({ channel: target.channel, outcome: 'accepted' });
      const updated = await store.updateOrder(
        p.orderNo,
        { status: result.status, channelTradeNo: result.channelTradeNo, payload: result.payload, paidAt: result.paidAt, failureCode: result.failure?.code, failureMessage: result.failure?.message },
        { source: 'channel.collect' },
      );
      return { order: updated.value, result, route };
    } catch (err) {
      const e = err as PayError;
      const fellBack = routing.config.fallback && !last && certainlyNotSent(err);
      await note({ channel: target.channel, outcome: 'failed', errorCode: e.code, errorClass: (e.details as { class?: string } | undefined)?.class, fellBack });
      if (fellBack) {
        ctx.debug(`route: ${target.channel} did not take ${p.orderNo} (${e.code}); trying ${plan.order[i + 1].channel}`);
        continue;
      }
      const definitive = isDefinitiveRejection(err);
      if (definitive) await store.updateOrder(p.orderNo, { status: 'failed', failureCode: e.providerCode ?? e.code, failureMessage: e.message }, { source: 'channel.collect' });
      throw withOrderContext(err, p.orderNo, 'order', definitive);
    }
  }
  throw new PayError('SYSTEM_ERROR', 'internal: routing ran out of targets without an answer');
}
