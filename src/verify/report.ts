/**
 * The shapes `pay verify` and `pay listen` print: one verdict object per callback (`--json`,
 * camelCase, amounts as `amount` and `amountMinor`) and the human table row.
 */
import type { RawRequest } from '../channel/contract.js';
import { EXIT, type ExitStatus } from '../core/errors.js';
import { formatAmount } from '../core/money.js';
import { redact, redactText } from '../core/redact.js';
import type { Cell } from '../output/render.js';
import { isRefusal, type ApplyResult } from './apply.js';
import { exitStatusOf, type OutcomeClass, type VerifyOutcome } from './dispatch.js';

/** One callback's full result. */
export interface VerifyRow {
  /** The file it came from (or, for `pay listen`, where it was saved). */
  file?: string;
  /** 1-based entry of a HAR file. */
  entry?: number;
  outcome: VerifyOutcome;
  request?: RawRequest;
  /** Set with --apply (valid callbacks only). */
  apply?: ApplyResult;
}

/**
 * Exit status of a run: any error (unreadable input, unknown channel, config) -> 2; else any
 * invalid callback or refused --apply (unknown order, mismatch) -> 1; else 0.
 */
export function runExitStatus(rows: readonly VerifyRow[]): ExitStatus {
  const status = exitStatusOf(rows.map((r) => r.outcome.class));
  if (status === EXIT.USAGE) return status;
  if (rows.some((r) => r.apply && isRefusal(r.apply.outcome))) return EXIT.NEGATIVE;
  return status;
}

/** The `--json` verdict object of one callback. */
export function rowJson(row: VerifyRow): Record<string, unknown> {
  const { outcome } = row;
  const v = outcome.verdict;
  const ev = v?.event;
  const out: Record<string, unknown> = {};
  if (row.file !== undefined) out.file = row.file;
  if (row.entry !== undefined) out.entry = row.entry;
  out.verdict = outcome.class;
  out.valid = outcome.class === 'valid';
  if (outcome.channel) out.channel = outcome.channel;
  if (v?.scheme) out.scheme = v.scheme;
  const reason = outcome.class === 'error' ? outcome.error?.message : v?.reason;
  if (reason) out.reason = redactText(reason);
  if (v?.reasonCode) out.reasonCode = v.reasonCode;
  if (ev) {
    out.eventType = ev.type;
    out.kind = ev.kind;
    if (ev.orderNo !== undefined) out.orderNo = ev.orderNo;
    if (ev.channelTradeNo !== undefined) out.channelTradeNo = ev.channelTradeNo;
    if (ev.refundNo !== undefined) out.refundNo = ev.refundNo;
    if (ev.amountMinor !== undefined && ev.currency) {
      out.amount = formatAmount(ev.amountMinor, ev.currency);
      out.amountMinor = ev.amountMinor;
    }
    if (ev.currency !== undefined) out.currency = ev.currency;
    if (ev.status !== undefined) out.status = ev.status;
    if (ev.providerStatus !== undefined) out.providerStatus = ev.providerStatus;
    if (ev.occurredAt !== undefined) out.occurredAt = ev.occurredAt;
  }
  if (v?.reply) out.reply = v.reply;
  if (v?.dedupKey) out.dedupKey = v.dedupKey;
  if (ev?.data !== undefined) out.data = ev.data;
  if (row.apply) out.apply = row.apply;
  if (outcome.class === 'error' && outcome.error) out.error = redact(outcome.error.toJSON());
  return out;
}

/** Tone of an outcome class. */
export function classCell(c: OutcomeClass): Cell {
  return { text: c, tone: c === 'valid' ? 'ok' : c === 'invalid' ? 'error' : 'warn' };
}

/** The reply, short: `200 success`, `400 {"error":"BAD_SIGNATURE"}`. */
export function replyText(row: VerifyRow): string {
  const r = row.outcome.verdict?.reply;
  if (!r) return '';
  const body = r.body.replace(/\s+/g, ' ');
  return `${r.status}${body ? ` ${body.length > 48 ? `${body.slice(0, 47)}…` : body}` : ''}`;
}

/** The amount claimed, `12.34 CNY`. */
export function amountText(row: VerifyRow): string {
  const ev = row.outcome.verdict?.event;
  if (ev?.amountMinor === undefined || !ev.currency) return ev?.currency ?? '';
  return `${formatAmount(ev.amountMinor, ev.currency)} ${ev.currency}`;
}

/** The reason column: the verdict's reason, the error, or the apply outcome. */
export function reasonText(row: VerifyRow): string {
  const { outcome } = row;
  if (outcome.class === 'error') return redactText(`${outcome.error?.code ?? 'ERROR'}: ${outcome.error?.message ?? ''}`);
  if (outcome.class === 'invalid') return redactText(`${outcome.verdict?.reasonCode ?? ''}${outcome.verdict?.reason ? `: ${outcome.verdict.reason}` : ''}`);
  return '';
}

/** Where a row came from, for tables: `file` or `file#2`. */
export function rowSource(row: VerifyRow): string {
  return `${row.file ?? row.request?.source ?? ''}${row.entry !== undefined ? `#${row.entry}` : ''}`;
}
