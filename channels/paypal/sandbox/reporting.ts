/** Reporting: the ledger behind the transactions API, balances, and the transactions search. */
import type { Router } from '../../../src/sandbox/router.js';
import { PAYPAL_CURRENCIES } from '../currency.js';
import type { PaypalSimulator } from './index.js';
import { fmt, invalidRequest, obj, type Obj, type PaypalHandler } from './params.js';

/** The reporting routes. */
export function reportingRoutes(r: Router<PaypalHandler>): void {
  r.get('/v1/reporting/balances', (sim, { req }) => ({ status: 200, body: balances(sim, req.query) }));
  r.get('/v1/reporting/transactions', (sim, { req }) => ({ status: 200, body: transactions(sim, req.query) }));
}

export function record(sim: PaypalSimulator, t: { id: string; code: string; currency: string; gross: number; fee: number; invoice?: string; custom?: string; reference?: string; referenceType?: string }): void {
  const at = sim.now();
  const iso = `${new Date(at).toISOString().slice(0, 19)}+0000`;
  const info: Obj = {
    paypal_account_id: sim.accountId,
    transaction_id: t.id,
    transaction_event_code: t.code,
    transaction_initiation_date: iso,
    transaction_updated_date: iso,
    transaction_amount: { currency_code: t.currency, value: fmt(t.gross, t.currency) },
    transaction_status: 'S',
    protection_eligibility: '01',
  };
  if (t.fee !== 0) info.fee_amount = { currency_code: t.currency, value: fmt(t.fee, t.currency) };
  if (t.invoice) info.invoice_id = t.invoice;
  if (t.custom) info.custom_field = t.custom;
  if (t.reference) {
    info.paypal_reference_id = t.reference;
    info.paypal_reference_id_type = t.referenceType;
  }
  sim.ledger.post({ currency: t.currency, net: t.gross + t.fee, atMs: at, detail: { transaction_info: info } });
}

export function balances(sim: PaypalSimulator, query: URLSearchParams): Obj {
  const currencies = new Set(['USD', ...sim.ledger.currencies(), ...[...sim.payouts.values()].map((p) => String(obj(obj(p.batch_header)?.amount)?.currency))]);
  const only = query.get('currency_code');
  const list = [...currencies].filter((c) => PAYPAL_CURRENCIES.includes(c) && (!only || c === only)).sort();
  return {
    balances: list.map((c) => {
      const available = sim.ledger.available(c, sim.now());
      return { currency: c, primary: c === 'USD', total_balance: { currency_code: c, value: fmt(available, c) }, available_balance: { currency_code: c, value: fmt(available, c) }, withheld_balance: { currency_code: c, value: fmt(0, c) } };
    }),
    account_id: sim.accountId,
    as_of_time: sim.iso(),
    last_refresh_time: sim.iso(),
  };
}

export function transactions(sim: PaypalSimulator, query: URLSearchParams): Obj {
  const parse = (name: string) => {
    const v = query.get(name);
    if (!v) throw invalidRequest('MISSING_REQUIRED_PARAMETER', `${name} is required.`, name);
    const ms = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isNaN(ms)) throw invalidRequest('INVALID_PARAMETER_SYNTAX', `${name} is not an Internet date-time.`, name);
    return ms;
  };
  const start = parse('start_date');
  const end = parse('end_date');
  if (end < start) throw invalidRequest('INVALID_DATE_RANGE', 'end_date must be after start_date.', 'end_date');
  if (end - start > 31 * 86_400_000) throw invalidRequest('INVALID_DATE_RANGE', 'The date range may be at most 31 days.', 'end_date');
  const pageSize = Math.min(500, Math.max(1, Number(query.get('page_size') ?? '100') || 100));
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const hits = sim.ledger.between(start, end + 1000);
  const totalPages = Math.max(1, Math.ceil(hits.length / pageSize));
  return {
    transaction_details: hits.slice((page - 1) * pageSize, page * pageSize).map((l) => l.detail),
    account_number: sim.accountId,
    start_date: query.get('start_date'),
    end_date: query.get('end_date'),
    last_refreshed_datetime: sim.iso(),
    page,
    total_items: hits.length,
    total_pages: totalPages,
    links: [{ href: `${sim.base()}/v1/reporting/transactions?${query.toString()}`, rel: 'self', method: 'GET' }],
  };
}
