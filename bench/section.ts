/**
 * Runs one benchmark section in this (fresh) process and writes its result as JSON to
 * `BENCH_RESULT_FILE`: `tsx bench/section.ts <name> [args...]`. bench/run.ts starts one such
 * process per section, so module state (handlers read their environment at import), CPU
 * accounting and emulators never leak from one section into the next.
 */
import { writeFileSync } from 'node:fs';

const SECTIONS: Record<string, () => Promise<{ run(args: string[]): Promise<unknown> }>> = {
  throughput: () => import('./sections/throughput.ts'),
  'aws-calls': () => import('./sections/aws-calls.ts'),
  bundles: () => import('./sections/bundles.ts'),
  e2e: () => import('./sections/e2e.ts'),
  ingest: () => import('./sections/ingest.ts'),
};

async function main(): Promise<void> {
  const [name = '', ...args] = process.argv.slice(2);
  const load = SECTIONS[name];
  if (!load) throw new Error(`unknown section "${name}"; one of: ${Object.keys(SECTIONS).join(', ')}`);
  const result = await (await load()).run(args);
  const file = process.env.BENCH_RESULT_FILE;
  if (file) writeFileSync(file, JSON.stringify(result));
  else process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`section failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
