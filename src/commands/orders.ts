/**
 * `pay orders list` and `pay orders show`: the local order book.
 */
import { invalid, PayError } from '../core/errors.js';
import { ORDER_STATUSES, type Order, type OrderKind, type OrderStatus, type Refund } from '../core/order.js';
import { isoUtc, parseInstant } from '../core/time.js';
import type { Presentation } from '../output/render.js';
import { eventSummary, money, orderFields, orderJson, refundJson, refundsTable, statusCell } from '../output/views.js';
import type { StoredEvent } from '../store/store.js';
import type { Context } from './context.js';

export interface ListOptions {
  channel?: string;
  status?: string;
  kind?: string;
  since?: string;
  until?: string;
  limit?: string;
}

export interface ListResult {
  orders: Order[];
  /** Orders matching the filter in all (the list may be limited). */
  total: number;
  limit: number;
}

/** Lists orders, newest first. */
export async function listOrders(opts: ListOptions, ctx: Context): Promise<ListResult> {
  if (opts.status && !ORDER_STATUSES.includes(opts.status as OrderStatus)) {
    throw invalid(`unknown status "${opts.status}"`, { hint: `Statuses: ${ORDER_STATUSES.join(', ')}.` });
  }
  if (opts.kind && opts.kind !== 'collect' && opts.kind !== 'payout') throw invalid('--kind is collect or payout');
  const limit = opts.limit === undefined ? 50 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100000) throw invalid('--limit must be a whole number from 1 to 100000');
  const filter = {
    channel: opts.channel,
    status: opts.status as OrderStatus | undefined,
    kind: opts.kind as OrderKind | undefined,
    since: opts.since ? isoUtc(parseInstant(opts.since, '--since')) : undefined,
    until: opts.until ? isoUtc(parseInstant(opts.until, '--until')) : undefined,
  };
  const store = await ctx.store({ readOnly: true });
  const orders = await store.listOrders({ ...filter, limit });
  const total = orders.length < limit ? orders.length : await store.countOrders(filter);
  return { orders, total, limit };
}

/** Human and JSON output of `orders list`. */
export function presentList(r: ListResult): Presentation {
  const blocks: Presentation['blocks'] = [
    {
      kind: 'table',
      columns: [
        { key: 'orderNo', header: 'order no' },
        { key: 'kind', header: 'kind' },
        { key: 'channel', header: 'channel' },
        { key: 'status', header: 'status' },
        { key: 'amount', header: 'amount', align: 'right' },
        { key: 'refunded', header: 'refunded', align: 'right' },
        { key: 'createdAt', header: 'created' },
      ],
      rows: r.orders.map((o) => ({
        orderNo: o.orderNo,
        kind: o.kind,
        channel: o.channel,
        status: statusCell(o.status),
        amount: money(o.amountMinor, o.currency),
        refunded: o.refundedMinor ? money(o.refundedMinor, o.currency) : '',
        createdAt: o.createdAt,
      })),
      empty: 'No orders. Create one with: pay create --channel mock --amount 1.00 --currency CNY',
    },
  ];
  if (r.total > r.orders.length) blocks.push({ kind: 'text', tone: 'dim', text: `Showing ${r.orders.length} of ${r.total}; use --limit, --since or --status to see others.` });
  return { json: { orders: r.orders.map(orderJson), total: r.total, limit: r.limit }, blocks };
}

export interface ShowResult {
  order: Order;
  refunds: Refund[];
  events: StoredEvent[];
}

/** One order with its refunds and event history. */
export async function showOrder(orderNo: string, ctx: Context): Promise<ShowResult> {
  const store = await ctx.store({ readOnly: true });
  const order = await store.getOrder(orderNo);
  if (!order) {
    throw new PayError('ORDER_NOT_FOUND', `${orderNo} is not in the order book at ${ctx.dbPath}`, { hint: 'List orders with `pay orders list`.' });
  }
  return { order, refunds: await store.listRefunds(orderNo), events: await store.listEvents({ orderNo }) };
}

/** Human and JSON output of `orders show`. */
export function presentShow(r: ShowResult): Presentation {
  return {
    json: {
      ...orderJson(r.order),
      refunds: r.refunds.map(refundJson),
      events: r.events.map((e) => ({ id: e.id, at: e.at, type: e.type, ...(e.channel ? { channel: e.channel } : {}), ...(e.refundNo ? { refundNo: e.refundNo } : {}), data: e.data })),
    },
    blocks: [
      { kind: 'fields', fields: orderFields(r.order) },
      refundsTable(r.refunds, { reason: true, empty: 'No refunds.' }),
      {
        kind: 'table',
        title: 'History',
        columns: [
          { key: 'at', header: 'at' },
          { key: 'type', header: 'event' },
          { key: 'summary', header: 'detail' },
        ],
        rows: r.events.map((e) => ({ at: e.at, type: e.type, summary: (e.refundNo ? `${e.refundNo}: ` : '') + eventSummary(e) })),
      },
    ],
  };
}
