/**
 * The git-ignored file through which `npm run local` tells the CLI where everything is, so
 * `npx webhooks <command> --local` needs no other flags.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalResources } from './provision.ts';

/** The checkout's state file: where `npm run local` writes and `--local` reads by default. */
export const STATE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '.webhooks-local.json');

/** Another state file than the checkout's (tests, several local runners), for both sides. */
export const STATE_FILE_ENV = 'WEBHOOKS_STATE_FILE';

/** The state file `env` names, else the checkout's. */
export function stateFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env[STATE_FILE_ENV] || STATE_FILE;
}

export interface LocalState extends LocalResources {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly dashboardUrl: string;
  readonly pid: number;
  readonly startedAt: string;
}

export function writeState(state: LocalState, path = STATE_FILE): void {
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function readState(path = STATE_FILE): LocalState {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalState;
  } catch {
    throw new Error(`no local state at ${path}: start local mode first with "npm run local"`);
  }
}
