/**
 * The git-ignored file through which `npm run local` tells the CLI where everything is, so
 * `npx webhooks <command> --local` needs no other flags.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalResources } from './provision.ts';

export const STATE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '.webhooks-local.json');

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
