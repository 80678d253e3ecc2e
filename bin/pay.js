#!/usr/bin/env node
// Thin launcher: the compiled CLI does everything (run `npm run build` after editing src/).
import { main } from '../dist/src/cli.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // main() handles its own errors; reaching here is a bug in pay itself.
    process.stderr.write(`pay: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
