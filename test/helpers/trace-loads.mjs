// Loaded with `node --import`: records every ES module URL the process resolves into the file
// named by $PAY_TRACE_FILE, so tests can check what a command loads at start-up.
import { register } from 'node:module';

register(new URL('./trace-hooks.mjs', import.meta.url));
