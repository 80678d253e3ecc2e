/**
 * The money side of a simulator: the merchant's balance per currency as an opening amount plus
 * the entries booked against it (a payment net of its fee, a refund, a transfer or payout, the
 * reversal of a failed one), each available from a moment on, and holds (funds a payout in
 * flight keeps from being spent twice). Amounts are integers in the provider's own units; the
 * simulator decides what each entry means and what its provider shows for it (`detail`).
 */

/** One booking. */
export interface LedgerEntry<D> {
  /** The provider's id of the booking, where it has one (Stripe's `txn_...`). */
  id?: string;
  currency: string;
  /** What it does to the balance: positive credits, negative debits (fees already taken). */
  net: number;
  /** When it was booked. */
  atMs: number;
  /** From when it counts as available (before that it is pending). */
  availableAtMs: number;
  /** What the provider shows for it (a balance transaction, a transactions-API element). */
  detail: D;
}

/** What {@link Ledger.post} takes. */
export interface Posting<D> {
  id?: string;
  currency: string;
  net: number;
  atMs: number;
  /** Default: available at once (`atMs`). */
  availableAtMs?: number;
  /** Left out by simulators whose entries show nothing of their own. */
  detail?: D;
}

export class Ledger<D = undefined> {
  /** Every entry in booking order (tests may add earlier activity). */
  readonly entries: LedgerEntry<D>[] = [];
  private readonly byId = new Map<string, LedgerEntry<D>>();
  private readonly holds = new Map<string, { currency: string; amount: number }>();

  /** `opening(currency)`: the balance before any entry, in the same units. */
  constructor(private readonly opening: (currency: string) => number) {}

  /** Books an entry and returns it. */
  post(p: Posting<D>): LedgerEntry<D> {
    const entry: LedgerEntry<D> = { ...p, availableAtMs: p.availableAtMs ?? p.atMs, detail: p.detail as D };
    this.entries.push(entry);
    if (entry.id !== undefined) this.byId.set(entry.id, entry);
    return entry;
  }

  /** The entry booked with this id. */
  get(id: string): LedgerEntry<D> | undefined {
    return this.byId.get(id);
  }

  /** Keeps `amount` of `currency` from being spent until {@link release} (a payout in flight). */
  hold(key: string, currency: string, amount: number): void {
    this.holds.set(key, { currency, amount });
  }

  /** Ends a hold: what it kept is spendable again, unless an entry now books it. */
  release(key: string): void {
    this.holds.delete(key);
  }

  /** True when the entry's money is available at `nowMs`. */
  isAvailable(entry: LedgerEntry<D>, nowMs: number): boolean {
    return entry.availableAtMs <= nowMs;
  }

  /** The balance of `currency` at `nowMs`: opening plus available entries less holds, and what is still pending. */
  balance(currency: string, nowMs: number): { available: number; pending: number } {
    let available = this.opening(currency);
    let pending = 0;
    for (const e of this.entries) {
      if (e.currency !== currency) continue;
      if (this.isAvailable(e, nowMs)) available += e.net;
      else pending += e.net;
    }
    for (const h of this.holds.values()) if (h.currency === currency) available -= h.amount;
    return { available, pending };
  }

  /** What can be spent in `currency` at `nowMs`. */
  available(currency: string, nowMs: number): number {
    return this.balance(currency, nowMs).available;
  }

  /** The currencies entries are booked in, in order of first use. */
  currencies(): string[] {
    return [...new Set(this.entries.map((e) => e.currency))];
  }

  /** Entries booked in [startMs, endMs). */
  between(startMs: number, endMs: number): LedgerEntry<D>[] {
    return this.entries.filter((e) => e.atMs >= startMs && e.atMs < endMs);
  }
}
