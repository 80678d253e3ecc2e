/**
 * Error helpers for the simulators: a provider error carries the status, the body in the
 * provider's own shape and any extra headers, thrown from deep in a resource and turned into an
 * answer once by the simulator's handle().
 */
import type { SimulatorResponse } from './contract.js';

type Obj = Record<string, unknown>;

/** An API error answer in the provider's shape (thrown; the simulator serialises `body`). */
export class ProviderError extends Error {
  constructor(
    readonly status: number,
    readonly body: Obj,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? body.error ?? body.msg ?? 'error'));
  }
}

/** A JSON answer. */
export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}, indent?: number): SimulatorResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value, null, indent) };
}
