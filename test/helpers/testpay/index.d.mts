/** Types of the test-only testpay channel module (index.mjs). */
import type { BillReader, CallbackHandler, ChannelModule } from '../../../src/channel/contract.js';

declare const testpay: ChannelModule;
export default testpay;
export declare const callback: CallbackHandler;
export declare const bill: BillReader;
