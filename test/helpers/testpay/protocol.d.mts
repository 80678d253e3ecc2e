/** Types of the test-only testpay protocol helpers (protocol.mjs). */
import type { KeyObject } from 'node:crypto';

export declare const SIGNATURE_HEADER: string;
export declare const NOTIFY_TOLERANCE_SEC: number;
export declare const TIME_ZONE: string;
export declare function signBody(privateKey: KeyObject, body: Buffer | string, nowMs: number): string;
export declare function verifyBody(
  publicKeyPem: string | KeyObject,
  header: string | undefined,
  body: Buffer | string,
  at: number,
  toleranceSec?: number,
): { ok: true; t: number } | { ok: false; reason: string; message: string };
