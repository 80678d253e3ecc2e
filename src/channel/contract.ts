/**
 * The channel contract. A channel module (`channels/<id>/index.ts`, or any module given by path)
 * default-exports a {@link ChannelModule}; its `create` returns a {@link ChannelAdapter}.
 *
 * Rules every channel follows:
 * - Amounts cross this boundary as integer minor units of pay's exponent for the currency
 *   (`core/money`); a channel converts to its wire units at its own edge.
 * - Errors are `PayError`s with a standard code; the provider's raw code goes in `providerCode`.
 *   A definitive business "no" (card declined, payee invalid) is a result with status `failed`,
 *   not an exception; an exception means the outcome is unknown or the call was refused.
 * - Channels never touch the order store. State of their own (the mock, simulators) lives in
 *   `deps.stateDir`.
 * - Secrets never appear in thrown messages or in what is passed to `deps.record`.
 */
import type { Clock } from '../core/time.js';
import type { ExponentOverrides } from '../core/money.js';
import type { OrderStatus, RefundStatus } from '../core/order.js';
import type { ChannelCallRecord } from './call-record.js';
import type { HttpClient } from './http-client.js';

export type { ChannelCallRecord } from './call-record.js';

/** Operations a channel may support; `pay channels list` prints them. */
export type Capability =
  | 'collect'
  | 'queryCollect'
  | 'closeCollect'
  | 'capture'
  | 'refund'
  | 'queryRefund'
  | 'payout'
  | 'queryPayout'
  | 'balance'
  | 'verifyCallback'
  | 'readBill'
  | 'downloadBill';

export const ALL_CAPABILITIES: readonly Capability[] = [
  'collect',
  'queryCollect',
  'closeCollect',
  'capture',
  'refund',
  'queryRefund',
  'payout',
  'queryPayout',
  'balance',
  'verifyCallback',
  'readBill',
  'downloadBill',
];

/** One field of a channel's config schema. */
export interface ConfigField {
  /** Key in `channels.<id>` of pay.config.json. */
  key: string;
  /** One sentence saying what the field is and where to find its value. */
  description: string;
  /** Value type; `pem` accepts PEM text or bare base64 (usually via `file:`). */
  type: 'string' | 'number' | 'boolean' | 'url' | 'pem' | 'object';
  /** Needed for API calls (validateConfig fails without it). */
  required?: boolean;
  /** Never printed: masked in `config show`, redacted from logs and events. */
  secret?: boolean;
  /** Default used when absent. */
  default?: unknown;
}

/** What `pay channels list` shows and what the registry checks. */
export interface ChannelDescription {
  /** Channel id (`mock`, `alipay`, ...). */
  id: string;
  /** Human name ("Alipay OpenAPI"). */
  name: string;
  /** Version of the channel module. */
  version: string;
  /** Operations this channel implements. */
  capabilities: Capability[];
  /** Config schema with a sentence per field. */
  config: ConfigField[];
  /** IANA time zone of the channel's business day (Asia/Shanghai for Chinese channels). */
  timeZone: string;
  /** Values `--method` accepts for collect; the first is the default. */
  methods?: string[];
  /** Other names routing rules may use for a method (`qr` for WeChat Pay's `native`). */
  methodAliases?: Record<string, string>;
  /** Currencies the channel collects in; absent: any (routing refuses rules that need others). */
  currencies?: readonly string[];
  /** Where the channel's exponent for a currency differs from ICU's (applied at its edge). */
  exponentOverrides?: ExponentOverrides;
}

/** What the registry hands a channel when it creates an adapter. */
export interface ChannelDeps {
  /** A directory the channel may keep its own state in (created when first read: read it only when state is needed). */
  stateDir: string;
  /** Records a channel call in the event log (secrets redacted by the recorder). */
  record(entry: ChannelCallRecord): void;
  /** The clock; tests and simulators move it. */
  clock: Clock;
  /** The shared HTTP client (undici), loaded on first use so in-process channels never pay for it. */
  http(): Promise<HttpClient>;
  /** Environment (for HTTPS_PROXY and the like). */
  env: Record<string, string | undefined>;
  /** Verbose diagnostics (stderr, only with -v). */
  debug(message: string): void;
}

/** A failure the channel reported as the final answer for an order. */
export interface ChannelFailure {
  /** Standard code where one fits, else the provider's code. */
  code: string;
  message: string;
  /** Provider's raw code (`ACQ.TRADE_HAS_CLOSE`, `card_declined`). */
  providerCode?: string;
}

/** A collection request. */
export interface CollectRequest {
  orderNo: string;
  amountMinor: number;
  currency: string;
  subject: string;
  /** One of the channel's `methods`; absent means its default. */
  method?: string;
  /** Where the channel should send its async notification. */
  notifyUrl?: string;
  /** Where the payer returns after paying (page/redirect methods). */
  returnUrl?: string;
  /** Channel-specific extras (`--extra key=value`), passed through. */
  extra?: Record<string, string>;
  /**
   * `manual`: authorize only; the money is taken later by {@link ChannelAdapter.capture} (Stripe
   * capture_method=manual, PayPal intent AUTHORIZE). Only channels with `capture` are asked.
   */
  capture?: 'automatic' | 'manual';
}

/** What the payer needs to pay; whatever the channel returned. */
export interface CollectPayload {
  /** A QR code payload (URL or code string) to render for the payer. */
  qrCode?: string;
  /** A URL to send the payer to. */
  redirectUrl?: string;
  /** An HTML form that auto-submits (UnionPay front consume, Alipay page pay POST). */
  form?: string;
  /** Stripe's PaymentIntent client secret. */
  clientSecret?: string;
  /** Anything else worth keeping with the order (prepay_id, approve link...). */
  [key: string]: unknown;
}

/** The channel's answer to collect. */
export interface CollectResult {
  status: Extract<OrderStatus, 'created' | 'pending' | 'succeeded' | 'failed' | 'closed'>;
  channelTradeNo?: string;
  payload?: CollectPayload;
  /** ISO UTC, when already paid. */
  paidAt?: string;
  failure?: ChannelFailure;
}

/** Identifies an existing order at the channel. */
export interface OrderRef {
  orderNo: string;
  channelTradeNo?: string;
  amountMinor: number;
  currency: string;
  method?: string;
  /** ISO UTC creation time (some channels query by date). */
  createdAt: string;
  /**
   * False when pay never got the channel's answer to the create (the order is still `created`).
   * A "no such trade" answer then means the create may never have arrived: the channel reports
   * ORDER_NOT_FOUND instead of "pending", so the order stays re-sendable with the same number.
   * Absent means confirmed (or unknown): the channel's usual reading applies.
   */
  createConfirmed?: boolean;
  /** `manual` when the order was created to authorize only ({@link CollectRequest.capture}). */
  capture?: 'automatic' | 'manual';
  /**
   * pay's current status of the order. A channel that completes a payment on query (PayPal's
   * capture of an approved order) must not do so for an order pay has closed.
   */
  status?: OrderStatus;
  /** What pay keeps of the order's channel facts (ids it needs later, such as `paypalAuthorizationId`). */
  payload?: Record<string, unknown>;
}

/** The channel's view of an order or payout. */
export interface OrderState {
  status: Extract<OrderStatus, 'created' | 'pending' | 'succeeded' | 'failed' | 'closed'>;
  channelTradeNo?: string;
  /** Amount the channel holds for the order, when it says (checked against ours). */
  amountMinor?: number;
  currency?: string;
  paidAt?: string;
  /** The provider's own status word (`TRADE_SUCCESS`, `requires_payment_method`). */
  providerStatus?: string;
  failure?: ChannelFailure;
  /** Facts to keep with the order, merged into its payload (PayPal's `paypalAuthorizationId`). */
  payload?: Record<string, unknown>;
  /**
   * closeCollect only: set when nothing was closed at the channel and the order is closed in pay's
   * books alone, saying why (PayPal lets an unapproved order expire; UnionPay 5.1.0 has no close).
   */
  localOnly?: string;
  /**
   * closeCollect only: the close found the order paid and the channel gave the money back in the
   * same call (Alipay's `alipay.trade.cancel` refunds a paid trade). `status` is then `succeeded`.
   */
  reversal?: { amountMinor: number; channelRefundNo?: string; refundedAt?: string };
}

/** Capture of (part of) an authorized collection. */
export interface CaptureRequest {
  order: OrderRef;
  /** Minor units to capture; absent: everything authorized. The rest is released. */
  amountMinor?: number;
}

/** A refund request. */
export interface RefundRequest {
  orderNo: string;
  refundNo: string;
  channelTradeNo?: string;
  /** Amount to refund, minor units. */
  amountMinor: number;
  /** The order's full amount (WeChat and UnionPay need it). */
  totalMinor: number;
  currency: string;
  reason?: string;
  notifyUrl?: string;
  /** ISO UTC creation time of the original order. */
  orderCreatedAt: string;
}

/** Identifies an existing refund. */
export interface RefundRef {
  orderNo: string;
  refundNo: string;
  channelTradeNo?: string;
  channelRefundNo?: string;
  amountMinor: number;
  totalMinor: number;
  currency: string;
  /** As {@link OrderRef.createConfirmed}, for the refund request (the refund is still `created`). */
  createConfirmed?: boolean;
}

/** The channel's view of a refund. */
export interface RefundState {
  status: RefundStatus;
  channelRefundNo?: string;
  refundedAt?: string;
  providerStatus?: string;
  failure?: ChannelFailure;
}

/** A payout request. */
export interface PayoutRequest {
  orderNo: string;
  amountMinor: number;
  currency: string;
  /** Destination account (login id, openid, bank card, Stripe destination, PayPal email...). */
  payee: string;
  /** Account holder's name, where the channel checks it. */
  payeeName?: string;
  remark?: string;
}

/** Balance of one currency (and account, where a channel has several). */
export interface BalanceEntry {
  currency: string;
  availableMinor: number;
  pendingMinor?: number;
  /** Account name where the channel has several (WeChat BASIC/OPERATION/FEES). */
  account?: string;
}

/** A request exactly as received, for offline verification. */
export interface RawRequest {
  /** HTTP method (POST for notifications; GET for return URLs). */
  method?: string;
  /** Request target: path and query, as on the request line. */
  target?: string;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body bytes, exactly as received (never re-serialised). */
  body: Buffer;
  /** Where it came from, for messages: a file and, for HAR, the entry index. */
  source?: string;
}

/** How and when to verify. */
export interface VerifyOptions {
  /** The moment to verify at (ms): now, or `--at` for an old file. Certificates use it too. */
  at: number;
  /** Freshness window in seconds, where the scheme has one (`--tolerance`). */
  toleranceSec?: number;
}

/** Why a callback is invalid. */
export type VerdictReason =
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'EXPIRED'
  | 'UNTRUSTED_CERT'
  | 'MALFORMED'
  | 'MISSING_KEY'
  | 'DECRYPT_FAILED'
  | 'PROBE';

/** An HTTP answer to send back to the channel. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a verified callback claims. */
export interface CallbackEvent {
  /** Provider event type (`TRANSACTION.SUCCESS`, `payment_intent.succeeded`, `trade_status_sync`). */
  type: string;
  kind: 'payment' | 'refund' | 'payout' | 'other';
  orderNo?: string;
  channelTradeNo?: string;
  refundNo?: string;
  amountMinor?: number;
  currency?: string;
  /** Normalised status the callback reports for the order or refund. */
  status?: OrderStatus | RefundStatus;
  /** Provider's own status word. */
  providerStatus?: string;
  /** ISO UTC, when the callback says when it happened. */
  occurredAt?: string;
  /** Decrypted or parsed content worth showing (`--json` only); never keys. */
  data?: unknown;
}

/** The verdict on one callback. */
export interface CallbackVerdict {
  valid: boolean;
  channel: string;
  /** Scheme used (`alipay-RSA2`, `wechatpay-v3`, `stripe-v1`...). */
  scheme: string;
  /** Human reason, always set when invalid. */
  reason?: string;
  reasonCode?: VerdictReason;
  event?: CallbackEvent;
  /** What to answer the channel (its success reply when valid, its failure reply otherwise). */
  reply: HttpReply;
  /** Stable key for deduplication (notify id, event id, hash of the body). */
  dedupKey?: string;
}

/** Offline callback handling, usable without a full API config. */
export interface CallbackHandler {
  /** 0 (not this channel) .. 1 (certainly this channel), from headers and body alone. */
  detect(request: RawRequest): number;
  /** Verifies with only the keys verification needs (settings already resolved). */
  verify(request: RawRequest, settings: Record<string, unknown>, options: VerifyOptions): Promise<CallbackVerdict>;
}

/** A statement row, normalised. Amounts are signed: money to the merchant positive. */
export interface BillRow {
  /** 1-based line (or record) number in the source file. */
  line: number;
  orderNo?: string;
  channelTradeNo?: string;
  kind: 'payment' | 'refund' | 'payout' | 'fee' | 'adjustment';
  refundNo?: string;
  /** Signed minor units: payments positive, refunds and payouts negative. */
  amountMinor: number;
  /** Fee charged on the row, minor units, positive = charged to the merchant. */
  feeMinor: number;
  currency: string;
  /** ISO UTC. */
  time: string;
  /** Provider's status word for the row, where it has one. */
  status?: string;
}

/** What a bill reader is given. */
export interface BillSource {
  /** File path (a zip, gzip or plain file, as the channel delivers it). */
  path: string;
}

/** Options for reading a bill. */
export interface ReadBillOptions {
  /** The business day the bill should cover (YYYY-MM-DD); a bill for another day is an error. */
  date?: string;
  /** Merchant id the bill should belong to, where the file says. */
  merchantId?: string;
}

/** Options for writing a statement in a channel's real format. */
export interface WriteBillOptions {
  /** Business day the bill covers (YYYY-MM-DD, in the channel's time zone). */
  date: string;
  /** Merchant id printed in the file, where the format has one. */
  merchantId?: string;
  /** Format variant (`zip`, `csv`, `gzip`, `ALL`, `REFUND`...), where a channel has several. */
  variant?: string;
}

/**
 * Rows a reader can also hand over a chunk at a time (an array per chunk of the file): a consumer
 * that takes them so (reconciliation's packer) skips one promise and one generator step per row.
 * Iterating the object row by row gives the same rows.
 */
export interface BatchedBillRows extends AsyncIterable<BillRow> {
  batches(): AsyncIterable<BillRow[]>;
}

/**
 * The rows `chunks` reads (a fresh read on each call), handed over a chunk at a time through
 * `batches()` or one by one when iterated: what a chunked bill reader returns.
 */
export function batchedBillRows(chunks: () => AsyncIterable<BillRow[]>): BatchedBillRows {
  return {
    batches: chunks,
    async *[Symbol.asyncIterator]() {
      for await (const chunk of chunks()) yield* chunk;
    },
  };
}

/** The rows of `rows`, a chunk at a time when the reader offers that, else one by one. */
export async function* billRowChunks(rows: AsyncIterable<BillRow>): AsyncGenerator<BillRow[]> {
  const batched = rows as Partial<BatchedBillRows>;
  if (typeof batched.batches === 'function') {
    yield* batched.batches();
    return;
  }
  for await (const row of rows) yield [row];
}

/** Bill parsing usable without API credentials (and, for simulators and tests, writing). */
export interface BillReader {
  /** Streams normalised rows; throws PayError INVALID_REQUEST (exit 2) for a damaged file. */
  read(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow>;
  /**
   * Writes `rows` as a statement file in the channel's real format (footer totals included), so
   * simulators and tests produce exactly what the provider would. Rows use the signs of
   * {@link BillRow}.
   */
  write?(path: string, rows: BillRow[], options: WriteBillOptions): Promise<void>;
}

/** A downloaded bill on disk. */
export interface DownloadedBill {
  path: string;
  /** Format name (`alipay-trade-zip`, `wechatpay-tradebill`, `stripe-balance-transactions`...). */
  format: string;
}

/** The result of a reachability check. */
export interface CheckResult {
  ok: boolean;
  detail: string;
  latencyMs?: number;
}

/**
 * An adapter: one configured connection to a channel. Optional members are capabilities; the
 * description's `capabilities` must list exactly those present.
 */
export interface ChannelAdapter {
  /** Create a collection (pay-in) order. */
  collect?(req: CollectRequest): Promise<CollectResult>;
  /** Status of a collection. */
  queryCollect?(ref: OrderRef): Promise<OrderState>;
  /** Close an unpaid collection. */
  closeCollect?(ref: OrderRef): Promise<OrderState>;
  /**
   * Captures an authorized collection (created with `capture: 'manual'`); returns the order's
   * state after it, `amountMinor` being what was captured.
   */
  capture?(req: CaptureRequest): Promise<OrderState>;
  /** Full or partial refund. */
  refund?(req: RefundRequest): Promise<RefundState>;
  /** Status of a refund. */
  queryRefund?(ref: RefundRef): Promise<RefundState>;
  /** Pay out to an account. */
  payout?(req: PayoutRequest): Promise<OrderState>;
  /** Status of a payout. */
  queryPayout?(ref: OrderRef): Promise<OrderState>;
  /** Account balance(s). */
  balance?(): Promise<BalanceEntry[]>;
  /** Offline check of a received notification. */
  verifyCallback?(request: RawRequest, options: VerifyOptions): Promise<CallbackVerdict>;
  /** Parse a statement file into normalised rows. */
  readBill?(source: BillSource, options: ReadBillOptions): AsyncIterable<BillRow>;
  /** Fetch the statement for a business day into `dir`. */
  downloadBill?(options: { date: string; dir: string; type?: string }): Promise<DownloadedBill>;
  /** Reachability and credential check, where the channel can. */
  check?(): Promise<CheckResult>;
  /** Release connections and timers. */
  close?(): Promise<void>;
}

/** What a channel module default-exports. */
export interface ChannelModule<C extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  description: ChannelDescription;
  /**
   * Checks settings (secret references already resolved) before any network call and returns
   * them typed with defaults applied. Throws CONFIG_ERROR naming the missing or malformed field.
   */
  validateConfig(settings: Record<string, unknown>): C;
  /** Creates an adapter for validated settings. May load heavy code lazily. */
  create(config: C, deps: ChannelDeps): ChannelAdapter | Promise<ChannelAdapter>;
  /** Offline callback verification and detection. */
  callback?: CallbackHandler;
  /** Bill parsing without credentials. */
  bill?: BillReader;
}
