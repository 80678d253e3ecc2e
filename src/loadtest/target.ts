/**
 * What a load test drives. A target starts one request per `send` and reports its end through a
 * callback rather than a promise: the raw HTTP hot path then allocates nothing per request, and
 * the runner owns every timestamp (a target never measures itself).
 */

/** Why a request failed: a standard error code (core/errors) plus what to show for it. */
export interface SendError {
  /** Standard code: TIMEOUT, CHANNEL_ERROR, SYSTEM_ERROR, RATE_LIMITED, INVALID_REQUEST... */
  code: string;
  /** A short message (first one per code is kept as a sample; never secrets). */
  message: string;
  /** HTTP status, when the failure was an HTTP answer. */
  httpStatus?: number;
}

/** Called exactly once per `send`: `undefined` for success, else the failure. */
export type Done = (error: SendError | undefined) => void;

/** A load-test target (raw HTTP endpoint, or a channel adapter operation). */
export interface Target {
  /** One line for the report: `GET http://127.0.0.1:8080/ping`, `mock collect (in-process)`. */
  readonly description: string;
  /**
   * True when requests complete without I/O (the in-process mock): the runner then yields to the
   * event loop now and then, since a chain of resolved promises would otherwise starve timers.
   */
  readonly inProcess: boolean;
  /**
   * Runs before any measurement: checks the target answers (a network failure throws a PayError,
   * exit 3) and creates what the operations need (orders to query or refund). Not measured.
   */
  prepare(): Promise<void>;
  /** Starts one request. `done` may be called synchronously for errors detected at once. */
  send(done: Done): void;
  /** Per-target detail for the summary (HTTP statuses, connections, seeded orders...). */
  details(): Record<string, unknown>;
  /** Releases connections; requests still in flight fail. */
  close(): Promise<void>;
}

/** A target opened by `pay loadtest`, what the summary says about it, and how to release it. */
export interface OpenedTarget {
  target: Target;
  /** Summary `target` section. */
  info: Record<string, unknown>;
  close(): Promise<void>;
}
