/**
 * Runs one section (bench/section.ts) in a fresh process and returns its result. The child's
 * stdout (the product's own INFO logs and metrics) is discarded; of its stderr, the
 * benchmark's progress lines pass through, and the product's warnings and errors are shown
 * up to a few and otherwise only counted, so a saturated emulator cannot flood the terminal.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { progress } from './log.ts';

const SECTION_MAIN = fileURLToPath(new URL('../section.ts', import.meta.url));
const SHOWN_OTHER_LINES = 3;

/** A section's result, and how many lines of each kind the product logged on stderr meanwhile. */
export interface SectionRun<T> {
  readonly result: T;
  /** `LEVEL message` (Powertools JSON lines) or the line's start, and how often it was seen. */
  readonly productLog: Record<string, number>;
}

/** What a product log line is about: Powertools' level and message, or the line's first words. */
function logKey(line: string): string {
  try {
    const parsed = JSON.parse(line) as { level?: string; message?: string; error?: string };
    if (parsed.message)
      return `${parsed.level ?? ''} ${parsed.message}${parsed.error ? `: ${parsed.error.slice(0, 120)}` : ''}`;
  } catch {
    // not JSON
  }
  return line.slice(0, 120);
}

export async function runSection<T>(name: string, args: readonly string[] = []): Promise<SectionRun<T>> {
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-bench-'));
  const resultFile = join(dir, 'result.json');
  try {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--no-warnings', '--import', 'tsx', SECTION_MAIN, name, ...args],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, BENCH_RESULT_FILE: resultFile },
      },
    );
    let other = 0;
    const productLog: Record<string, number> = {};
    let lastFailure = '';
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('section failed')) lastFailure = line;
      if (lastFailure || line.startsWith('[bench') || line.startsWith('  ')) {
        process.stderr.write(`${line}\n`);
        return;
      }
      const key = logKey(line);
      productLog[key] = (productLog[key] ?? 0) + 1;
      if (++other <= SHOWN_OTHER_LINES) process.stderr.write(`  (${name}) ${line.slice(0, 300)}\n`);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (other > SHOWN_OTHER_LINES)
      progress(name, `${other - SHOWN_OTHER_LINES} more product log lines on stderr not shown`);
    if (code !== 0)
      throw new Error(
        `section ${name} ${args.join(' ')} exited with ${code}${lastFailure ? `: ${lastFailure}` : ''}`,
      );
    return { result: JSON.parse(readFileSync(resultFile, 'utf8')) as T, productLog };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
