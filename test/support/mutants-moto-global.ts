/**
 * Vitest global setup for the adapters' mutation runs (vitest.mutate.config.ts): one moto
 * server for the whole Stryker run, which runs each test file again for every mutant it
 * covers. test/support/mutants-aws.ts's `useMoto` picks it up; without this setup each test
 * file starts its own.
 */
import type { TestProject } from 'vitest/node';
import { startMoto } from '../../local/moto.ts';
import type {} from './mutants-aws.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moto = await startMoto();
  project.provide('mutantsMotoEndpoint', moto.endpoint);
  return () => moto.stop();
}
