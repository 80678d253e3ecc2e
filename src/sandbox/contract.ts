/**
 * The sandbox simulator contract. Each real channel has `channels/<id>/sandbox/index.ts` exporting a
 * {@link SimulatorModule}: a local simulator of the provider's API (same paths, field names,
 * signing and error shapes) that the sandbox framework (`src/sandbox/server.ts`, `pay
 * sandbox`) serves on its own loopback port, one listener per channel, so every channel keeps the
 * provider's real root paths (Stripe's official client can only change host and port).
 *
 * The framework owns: the HTTP listener, fault injection (delays, 429/5xx, connection resets,
 * malformed bodies, bad or missing signatures through {@link ChannelSimulator.tamper}), control
 * endpoints (`/__sandbox/...`), and delivery of notifications with retries. The simulator owns the
 * provider's behaviour.
 */
import type { Clock } from '../core/time.js';

/** A request as the simulator sees it (body fully read). */
export interface SimulatorRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Raw request target (path and query). */
  url: string;
  /** Header names lowercased. */
  headers: Record<string, string>;
  body: Buffer;
}

/** What the simulator answers. */
export interface SimulatorResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A notification for the framework to deliver (and retry on the provider's schedule). */
export interface Notification {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Delays between attempts, ms (the provider's schedule, compressed for local use). */
  retryDelaysMs: number[];
  /** Whether the merchant's reply counts as received (Alipay: body "success"; WeChat: 2xx...). */
  accepted(status: number, body: string): boolean;
  /** For logs: "alipay trade_status_sync P2026...". */
  description: string;
}

/** What the framework gives a simulator. */
export interface SimulatorDeps {
  /** The clock (tests move it). */
  clock: Clock;
  /** Queues a notification for delivery with retries. */
  notify(notification: Notification): void;
  /** A private directory for files the simulator serves (bills). */
  workDir: string;
  /** Diagnostics. */
  log(message: string): void;
  /**
   * The simulator's own base URL (`http://127.0.0.1:<port>`), for links it hands out (bill
   * download URLs, approve links). Known once the listener is up, before any request is served.
   */
  baseUrl?(): string;
  /**
   * Where to send webhooks for providers whose notify URL is not part of the request (Stripe,
   * PayPal: configured in the dashboard); set by `pay sandbox --webhook-url` or the control API.
   */
  webhookUrl?(): string | undefined;
}

/** Kinds of response tampering a simulator must support. */
export type TamperKind = 'badSignature' | 'missingSignature';

/** One provider simulator. */
export interface ChannelSimulator {
  readonly id: string;
  /** Handles an API request; undefined means 404 (the framework answers in a neutral shape). */
  handle(req: SimulatorRequest): Promise<SimulatorResponse | undefined>;
  /**
   * Settings that point pay at this simulator (base URL, test-only keys it generated, merchant
   * ids): written as the `sandbox` profile. Secrets in it are test-only.
   */
  profile(baseUrl: string): Record<string, unknown>;
  /** The payer pays (or fails to pay) the order with this merchant order number; notifies. */
  simulatePayment(orderNo: string, outcome?: 'succeeded' | 'failed'): Promise<void>;
  /**
   * The provider's operation name when the path does not carry it (Alipay's `method` parameter,
   * `alipay.trade.precreate`), so a fault's `match` can name it.
   */
  operation?(req: SimulatorRequest): string | undefined;
  /** Returns `res` with its signature spoiled or removed (fault injection). */
  tamper(res: SimulatorResponse, kind: TamperKind): SimulatorResponse;
  close?(): Promise<void>;
}

/** What `channels/<id>/sandbox/index.ts` exports (named export `simulator`). */
export interface SimulatorModule {
  id: string;
  /** Creates the simulator: generates its key pairs and merchant identity. */
  create(deps: SimulatorDeps): ChannelSimulator | Promise<ChannelSimulator>;
}
