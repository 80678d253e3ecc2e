/** Types of the test-only testpay simulator (sandbox.mjs). */
import type { SimulatorModule } from '../../../src/sandbox/contract.js';

export declare const simulator: SimulatorModule;
/** Notification retry schedule, ms. */
export declare const RETRY_DELAYS_MS: number[];
