/**
 * One error type for the whole tool. Every failure a user can meet carries a stable code from
 * {@link ErrorCode}; the code alone decides the process exit status (see {@link exitCodeFor}).
 */

/** The stable error codes (README.md, "Exit statuses"). */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'AUTHENTICATION_FAILED',
  'INSUFFICIENT_BALANCE',
  'ORDER_NOT_FOUND',
  'SYSTEM_ERROR',
  'TIMEOUT',
  'RATE_LIMITED',
  'SIGNATURE_INVALID',
  'CHANNEL_ERROR',
  'CONFIG_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Process exit statuses (README.md, "Exit statuses"). */
export const EXIT = {
  /** Success: operation done, signature valid, books reconciled, thresholds met. */
  OK: 0,
  /** A negative answer: payment failed, signature invalid, discrepancies, a threshold breached. */
  NEGATIVE: 1,
  /** Usage, config or input error. */
  USAGE: 2,
  /** Channel or network error. */
  CHANNEL: 3,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

const EXIT_BY_CODE: Record<ErrorCode, ExitStatus> = {
  INVALID_REQUEST: EXIT.USAGE,
  CONFIG_ERROR: EXIT.USAGE,
  AUTHENTICATION_FAILED: EXIT.CHANNEL,
  SYSTEM_ERROR: EXIT.CHANNEL,
  TIMEOUT: EXIT.CHANNEL,
  RATE_LIMITED: EXIT.CHANNEL,
  CHANNEL_ERROR: EXIT.CHANNEL,
  // The channel (or the store) answered, and the answer is "no".
  INSUFFICIENT_BALANCE: EXIT.NEGATIVE,
  ORDER_NOT_FOUND: EXIT.NEGATIVE,
  SIGNATURE_INVALID: EXIT.NEGATIVE,
};

/** Exit status for an error code. */
export function exitCodeFor(code: ErrorCode): ExitStatus {
  return EXIT_BY_CODE[code];
}

/** Optional details carried by a {@link PayError}. */
export interface PayErrorOptions {
  /** What the user should do next; printed under the message. */
  hint?: string;
  /** The provider's own error code (e.g. `ACQ.TRADE_NOT_EXIST`), kept verbatim. */
  providerCode?: string;
  /** The provider's own message, kept verbatim. */
  providerMessage?: string;
  /** HTTP status of the channel answer, when there was one. */
  httpStatus?: number;
  /** The channel's request id, for support tickets. */
  requestId?: string;
  /** Channel id the error came from. */
  channel?: string;
  /** Structured extra data (safe to print: never secrets). */
  details?: Record<string, unknown>;
  /** The underlying error. */
  cause?: unknown;
  /** Overrides the exit status derived from the code (rarely needed). */
  exitCode?: ExitStatus;
}

/** The one error type. `code` is stable; `message` says what went wrong and what to do. */
export class PayError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly providerCode?: string;
  readonly providerMessage?: string;
  readonly httpStatus?: number;
  readonly requestId?: string;
  readonly channel?: string;
  readonly details?: Record<string, unknown>;
  readonly exitCode: ExitStatus;

  constructor(code: ErrorCode, message: string, options: PayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PayError';
    this.code = code;
    this.hint = options.hint;
    this.providerCode = options.providerCode;
    this.providerMessage = options.providerMessage;
    this.httpStatus = options.httpStatus;
    this.requestId = options.requestId;
    this.channel = options.channel;
    this.details = options.details;
    this.exitCode = options.exitCode ?? exitCodeFor(code);
  }

  /** A plain object for `--json` output and the event log. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.hint) out.hint = this.hint;
    if (this.channel) out.channel = this.channel;
    if (this.providerCode) out.providerCode = this.providerCode;
    if (this.providerMessage) out.providerMessage = this.providerMessage;
    if (this.httpStatus !== undefined) out.httpStatus = this.httpStatus;
    if (this.requestId) out.requestId = this.requestId;
    if (this.details) out.details = this.details;
    return out;
  }
}

/**
 * "Already explained, just exit": a command printed its own result (e.g. a failed payment or a
 * discrepancy report) and only needs a non-zero exit status.
 */
export class ExitError extends Error {
  constructor(readonly exitCode: ExitStatus) {
    super(`exit ${exitCode}`);
    this.name = 'ExitError';
  }
}

/** Shorthand constructors for the most common errors. */
export const invalid = (message: string, options?: PayErrorOptions) =>
  new PayError('INVALID_REQUEST', message, options);
export const configError = (message: string, options?: PayErrorOptions) =>
  new PayError('CONFIG_ERROR', message, options);

/** True when `err` is a {@link PayError} (across module copies too). */
export function isPayError(err: unknown): err is PayError {
  return err instanceof PayError || (typeof err === 'object' && err !== null && (err as { name?: string }).name === 'PayError' && typeof (err as { code?: unknown }).code === 'string');
}
