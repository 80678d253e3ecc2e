/**
 * Stripe's lists and expansion: newest-first pages with `limit` and cursors, `created` filters,
 * and `expand[]` replacing id fields by the objects they name.
 */
import type { FormNode, FormObject } from '../form.js';
import type { StripeSimulator } from './index.js';
import { integer, invalidRequest, str, type Obj } from './params.js';

/** Fields holding a reference to another object, which `expand` may replace by the object. */
const EXPANDABLE = new Set(['latest_charge', 'payment_intent', 'charge', 'balance_transaction', 'source', 'customer', 'payment_method', 'destination', 'failure_balance_transaction', 'refunds', 'on_behalf_of', 'application', 'transfer', 'review', 'invoice']);

/** The `expand[]` paths asked for. */
export function expandList(params: FormObject): string[] {
  const e = params.expand;
  if (e === undefined) return [];
  if (typeof e === 'string') return [e];
  if (Array.isArray(e)) return e.filter((x): x is string => typeof x === 'string');
  return [];
}

/**
 * Like Stripe, a path through a field that is no reference is refused before anything runs
 * (a list's paths start with `data.`).
 */
export function checkExpand(expand: string[], listing: boolean): void {
  for (const path of expand) {
    const segments = path.split('.');
    if (listing && segments[0] === 'data') segments.shift();
    if ((listing && !path.startsWith('data.')) || segments.some((seg) => !EXPANDABLE.has(seg))) throw invalidRequest(`This property cannot be expanded (${path}).`, { param: 'expand' });
  }
}

export function createdMatches(o: Obj, filter: FormNode | undefined): boolean {
  if (filter === undefined) return true;
  const created = o.created as number;
  if (typeof filter === 'string') return created === Number(filter);
  if (Array.isArray(filter)) return true;
  const f = filter as FormObject;
  const n = (k: string) => (typeof f[k] === 'string' ? Number(f[k]) : undefined);
  const gte = n('gte');
  const gt = n('gt');
  const lte = n('lte');
  const lt = n('lt');
  return (gte === undefined || created >= gte) && (gt === undefined || created > gt) && (lte === undefined || created <= lte) && (lt === undefined || created < lt);
}

/** A Stripe list: newest first, `limit` (1-100), `starting_after` / `ending_before` cursors. */
export function list(sim: StripeSimulator, items: Obj[], p: FormObject, url: string, expand: string[]): Obj {
  const limit = integer(p, 'limit', false) ?? 10;
  if (limit < 1 || limit > 100) throw invalidRequest('Invalid limit: must be between 1 and 100', { param: 'limit' });
  // Newest first; ties keep creation order reversed, so cursors are stable.
  const sorted = items.map((o, i) => ({ o, i })).sort((a, b) => (b.o.created as number) - (a.o.created as number) || b.i - a.i).map((x) => x.o);
  let start = 0;
  const after = str(p.starting_after);
  const before = str(p.ending_before);
  if (after) {
    const i = sorted.findIndex((o) => o.id === after);
    if (i < 0) throw invalidRequest(`No such object: '${after}'`, { param: 'starting_after', code: 'resource_missing' }, 400);
    start = i + 1;
  }
  let page = sorted.slice(start, start + limit);
  if (before) {
    const i = sorted.findIndex((o) => o.id === before);
    if (i < 0) throw invalidRequest(`No such object: '${before}'`, { param: 'ending_before', code: 'resource_missing' }, 400);
    page = sorted.slice(Math.max(0, i - limit), i);
  }
  const itemExpand = expand.filter((e) => e.startsWith('data.')).map((e) => e.slice(5));
  return {
    object: 'list',
    data: page.map((o) => expandObject(sim, o, itemExpand)),
    has_more: before ? sorted.indexOf(page[0]) > 0 : start + limit < sorted.length,
    url,
  };
}

/**
 * Replaces id fields named by `expand` paths (`latest_charge`, `source`, `data.source`) with
 * objects (route() has refused paths through fields that are not references, before anything ran).
 */
export function expandObject(sim: StripeSimulator, obj: Obj, paths: string[]): Obj {
  if (paths.length === 0) return obj;
  const out: Obj = { ...obj };
  for (const path of paths) {
    const [head, ...rest] = path.split('.');
    const v = out[head];
    if (typeof v === 'string') {
      const found = lookup(sim, v);
      if (found) out[head] = rest.length ? expandObject(sim, found, [rest.join('.')]) : found;
    } else if (v && typeof v === 'object' && rest.length) out[head] = expandObject(sim, v as Obj, [rest.join('.')]);
  }
  return out;
}

export function lookup(sim: StripeSimulator, id: string): Obj | undefined {
  const prefix = id.split('_')[0];
  switch (prefix) {
    case 'pi':
      return sim.paymentIntents.get(id);
    case 'ch':
      return sim.charges.get(id);
    case 're':
      return sim.refunds.get(id);
    case 'po':
      return sim.payouts.get(id);
    case 'txn':
      return sim.ledger.get(id)?.detail;
    default:
      return undefined;
  }
}
