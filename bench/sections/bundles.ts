/**
 * Figure 3: the Lambda bundles. Each entry is built with esbuild exactly as the stack builds
 * it (lib/webhook-function.ts: bundle everything, minify, ESM, target node22, platform node,
 * main fields module,main, the createRequire banner; the banner and target are read from that
 * file so the two cannot drift), into a temporary directory.
 *
 * Bytes are the output's size. Load-and-init time is the time a fresh `node` process takes
 * to import the bundle (module evaluation: the handler's cold-start work before its first
 * invocation), with the handlers' environment set to dummy values and no network; p50 over
 * 20 processes per bundle, the bundles interleaved. The baseline is lambdas/adapters/clients.ts
 * built the same way: it does nothing but construct the SDK clients every function needs,
 * the floor any handler pays. esbuild's metafile names the biggest contributors.
 *
 * A what-if variant of each entry shows the largest cut available without touching handler
 * code: the SDK's default credential chain (SSO, STS, INI files, web identity, the login
 * provider and the nested clients they pull in) replaced by environment credentials, which
 * is where Lambda puts them. It is reported in `details.whatIf`, not as the figure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { dummyHandlerEnv } from '../lib/handler-env.ts';
import { progress } from '../lib/log.ts';
import { median, round } from '../lib/stats.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PROCESSES = Number(process.env.BENCH_BUNDLE_PROCESSES ?? 20);

const ENTRIES = {
  api: 'lambdas/api/handler.ts',
  delivery: 'lambdas/delivery/handler.ts',
} as const;
const BASELINE_ENTRY = 'lambdas/adapters/clients.ts';

export interface BundleFigures {
  readonly bytes: number;
  readonly initMsP50: number;
  readonly baselineInitMsP50: number;
}

export interface BundlesResult {
  readonly bundles: Record<keyof typeof ENTRIES, BundleFigures>;
  readonly details: Record<string, unknown>;
}

/** The banner and target lib/webhook-function.ts gives esbuild. */
function stackBundling(): { banner: string; target: string } {
  const source = readFileSync(join(REPO, 'lib/webhook-function.ts'), 'utf8');
  const banner = /ESM_REQUIRE_BANNER\s*=\s*\n?\s*"([^"]+)"/.exec(source)?.[1];
  const target = /target:\s*'([^']+)'/.exec(source)?.[1];
  if (!banner || !target) throw new Error('could not read the bundling options from lib/webhook-function.ts');
  for (const option of [
    'minify: true',
    'format: OutputFormat.ESM',
    "mainFields: ['module', 'main']",
    'externalModules: []',
  ]) {
    if (!source.includes(option))
      throw new Error(`lib/webhook-function.ts no longer says "${option}"; update bench/sections/bundles.ts`);
  }
  return { banner, target };
}

/** What-if: resolve the SDK's default credential chain to `fromEnv` (Lambda's env credentials). */
const envCredentialsOnly: Plugin = {
  name: 'env-credentials-only',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: 'env-credentials',
      namespace: 'bench-what-if',
    }));
    esbuild.onLoad({ filter: /.*/, namespace: 'bench-what-if' }, () => ({
      contents: "export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';",
      resolveDir: REPO,
    }));
  },
};

async function bundle(
  entry: string,
  outfile: string,
  options: { banner: string; target: string },
  plugins: Plugin[] = [],
): Promise<Metafile> {
  const result = await build({
    plugins,
    entryPoints: [join(REPO, entry)],
    outfile,
    absWorkingDir: REPO,
    bundle: true,
    minify: true,
    sourcemap: false,
    platform: 'node',
    format: 'esm',
    target: options.target,
    mainFields: ['module', 'main'],
    banner: { js: options.banner },
    external: [],
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** Bytes in the output per package (`node_modules/<pkg>`) or project file, biggest first. */
function contributors(metafile: Metafile, limit = 10) {
  const [output] = Object.values(metafile.outputs);
  const totals = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const inPackage = path.lastIndexOf('node_modules/');
    let name = path;
    if (inPackage >= 0) {
      const parts = path.slice(inPackage + 'node_modules/'.length).split('/');
      name = (parts[0]?.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
    }
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  const total = output?.bytes ?? 1;
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, bytes]) => ({ name, bytes, share: `${round((100 * bytes) / total, 1)}%` }));
}

/** Spawns a fresh node that imports `file`; resolves with the import's duration and the process's. */
function timeImport(file: string): Promise<{ initMs: number; processMs: number }> {
  const script =
    `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
    'process.stdout.write(String(performance.now() - t0));';
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...dummyHandlerEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const initMs = Number(out.trim().split('\n').at(-1));
      if (code !== 0 || !Number.isFinite(initMs))
        reject(new Error(`importing ${file} failed (${code}): ${err}`));
      else resolve({ initMs, processMs: performance.now() - started });
    });
  });
}

export async function run(): Promise<BundlesResult> {
  const options = stackBundling();
  const dir = mkdtempSync(join(tmpdir(), 'webhooks-bench-bundles-'));
  try {
    const entryNames = Object.keys(ENTRIES) as Array<keyof typeof ENTRIES>;
    const whatIfNames = entryNames.map((name) => `${name}-env-credentials` as const);
    const names = [...entryNames, 'baseline', ...whatIfNames] as const;
    const files = Object.fromEntries(names.map((name) => [name, join(dir, `${name}.mjs`)])) as Record<
      (typeof names)[number],
      string
    >;
    const metafiles: Partial<Record<(typeof names)[number], Metafile>> = {};
    for (const name of [...entryNames, 'baseline'] as const) {
      const entry = name === 'baseline' ? BASELINE_ENTRY : ENTRIES[name];
      metafiles[name] = await bundle(entry, files[name], options);
      progress('bundles', `built ${name} (${entry}): ${Math.round(statSync(files[name]).size / 1024)} KB`);
    }
    for (const name of entryNames) {
      await bundle(ENTRIES[name], files[`${name}-env-credentials`], options, [envCredentialsOnly]);
    }
    const timings = Object.fromEntries(
      names.map((name) => [name, [] as Array<{ initMs: number; processMs: number }>]),
    );
    progress('bundles', `timing load and init: ${PROCESSES} fresh node processes per bundle`);
    for (let i = 0; i < PROCESSES; i++) {
      for (const name of names) timings[name]?.push(await timeImport(files[name]));
    }
    const p50 = (name: string, field: 'initMs' | 'processMs') =>
      round(median((timings[name] ?? []).map((timing) => timing[field])), 1);
    const baselineInit = p50('baseline', 'initMs');
    const bundles = Object.fromEntries(
      (Object.keys(ENTRIES) as Array<keyof typeof ENTRIES>).map((name) => [
        name,
        {
          bytes: statSync(files[name]).size,
          initMsP50: p50(name, 'initMs'),
          baselineInitMsP50: baselineInit,
        },
      ]),
    ) as Record<keyof typeof ENTRIES, BundleFigures>;
    const top = Object.fromEntries(
      [...entryNames, 'baseline'].map((name) => [
        name,
        contributors(metafiles[name as 'baseline'] as Metafile),
      ]),
    );
    for (const name of [...entryNames, 'baseline'] as const) {
      process.stderr.write(
        `  top contributors to the ${name} bundle (${statSync(files[name]).size} bytes):\n`,
      );
      for (const item of top[name] ?? []) {
        process.stderr.write(
          `    ${String(item.bytes).padStart(8)}  ${item.share.padStart(6)}  ${item.name}\n`,
        );
      }
    }
    for (const name of Object.keys(bundles) as Array<keyof typeof ENTRIES>) {
      progress(
        'bundles',
        `${name}: ${bundles[name].bytes} bytes, init p50 ${bundles[name].initMsP50} ms (baseline ${baselineInit} ms)`,
      );
    }
    return {
      bundles,
      details: {
        esbuild: {
          ...options,
          minify: true,
          format: 'esm',
          platform: 'node',
          mainFields: ['module', 'main'],
        },
        baseline: { entry: BASELINE_ENTRY, bytes: statSync(files.baseline).size, initMsP50: baselineInit },
        processWallMsP50: Object.fromEntries(names.map((name) => [name, p50(name, 'processMs')])),
        topContributors: top,
        whatIf: {
          envCredentialsOnly: Object.fromEntries(
            entryNames.map((name) => [
              name,
              {
                bytes: statSync(files[`${name}-env-credentials`]).size,
                initMsP50: p50(`${name}-env-credentials`, 'initMs'),
              },
            ]),
          ),
        },
        nodeVersion: process.version,
        processes: PROCESSES,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
