#!/usr/bin/env node
// `npx bulwark-saga dead list|retry|resolve`, `show`, `migrate`: see cli.ts.
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  write: (text) => process.stdout.write(text),
  error: (text) => process.stderr.write(text),
});
