#!/usr/bin/env node
// Entry of the operator CLI (`npx kyc-orchestrator …`, `npm run cli -- …`). From a checkout it
// runs the TypeScript sources through tsx, so no build is needed; where only the build exists
// (the Docker image) it runs dist/. It hands the environment to the CLI, which reads it only
// through loadConfig.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
await cli.runFromProcess(process.env);
