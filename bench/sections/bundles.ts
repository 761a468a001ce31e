/**
 * Figure 3: the Lambda bundles. Each function's entry is built with esbuild exactly as the stack
 * builds it (lib/webhook-function.ts: bundle everything, minify, ESM, target node22, platform
 * node, main fields module,main, the createRequire banner and the `--alias` map BUNDLE_ALIASES,
 * which resolves the SDK's credential chain to environment credentials; banner, target and
 * aliases are read from that file so the two cannot drift, and
 * test/integration/synthesized-bundles.test.ts checks that {@link bundle} writes byte for byte
 * what `cdk synth` puts in cdk.out), into a temporary directory.
 *
 * Bytes are the output's size (target ≤ 350,000 per bundle). Load-and-init time is the time a
 * fresh `node` process takes to import the bundle (module evaluation: the handler's cold-start
 * work before its first invocation), with the handlers' environment set to dummy values and no
 * network; p50 over 20 processes per bundle, all bundles interleaved. Each function's baseline is
 * a bundle, built the same way, that does nothing but construct the SDK clients that function's
 * bundle contains, the same way and with the same credentials setup (lambdas/adapters/clients.ts's
 * clients; the bootstrap function's own `new SecretsManagerClient({})`): the floor any handler
 * with those clients pays. Target: init p50 ≤ 1.1 × that baseline's. esbuild's metafile names the
 * biggest contributors.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { dummyHandlerEnv } from '../lib/handler-env.ts';
import { progress } from '../lib/log.ts';
import { median, round } from '../lib/stats.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PROCESSES = Number(process.env.BENCH_BUNDLE_PROCESSES ?? 20);

/** Bundle size target, bytes per bundle. */
export const BUNDLE_BYTES_TARGET = 350_000;
/** Init p50 target, as a multiple of the function's baseline (its SDK clients alone). */
export const INIT_RATIO_TARGET = 1.1;

const CLIENTS_MODULE = join(REPO, 'lambdas/adapters/clients.ts');
const sharedClients = (names: readonly string[]) =>
  `export { ${names.join(', ')} } from ${JSON.stringify(CLIENTS_MODULE)};`;

/**
 * The functions of lib/ and, for each, the baseline: the SDK clients its handler uses, built the
 * way the handler builds them. The SDK client packages in each pair's bundles are compared, so a
 * handler that gains or loses a client fails the run until its baseline follows.
 */
/** The operational events' client, built as lambdas/adapters/event-bus.ts builds it (on first use there). */
const eventBridgeClient =
  "import { EventBridgeClient } from '@aws-sdk/client-eventbridge';\n" +
  'export const eventBridge = new EventBridgeClient({ maxAttempts: 2 });';

export const FUNCTIONS = {
  // The API's operational events travel through the delivery queue to the worker, which publishes
  // them: the API function holds no EventBridge client.
  api: {
    entry: 'lambdas/api/handler.ts',
    clients: sharedClients(['documents', 'sqs', 'secretsManager']),
  },
  delivery: {
    entry: 'lambdas/delivery/handler.ts',
    clients: `${sharedClients(['documents', 'sqs', 'secretsManager'])}\n${eventBridgeClient}`,
  },
  authorizer: { entry: 'lambdas/authorizer/handler.ts', clients: sharedClients(['secretsManager']) },
  sweeper: { entry: 'lambdas/sweeper/handler.ts', clients: sharedClients(['documents', 'sqs']) },
  // The open routes (the pages and the API description): no AWS client at all, so its baseline is
  // an empty module.
  pages: { entry: 'lambdas/pages/handler.ts', clients: 'export {};' },
  'bootstrap-key': {
    entry: 'lambdas/bootstrap-key/handler.ts',
    clients:
      "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';\n" +
      'export const secretsManager = new SecretsManagerClient({});',
  },
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

export interface BundleFigures {
  readonly bytes: number;
  readonly initMsP50: number;
  readonly baselineInitMsP50: number;
  /** initMsP50 / baselineInitMsP50 (target ≤ 1.1). */
  readonly initRatioVsBaseline: number;
}

export interface BundlesResult {
  readonly bundles: Record<FunctionName, BundleFigures>;
  readonly details: Record<string, unknown>;
}

/** The esbuild options lib/webhook-function.ts gives the stack's bundles. */
export interface StackBundling {
  readonly banner: string;
  readonly target: string;
  readonly alias: Record<string, string>;
}

/** Reads the banner, target and aliases from lib/webhook-function.ts and checks the fixed options. */
export function stackBundling(): StackBundling {
  const source = readFileSync(join(REPO, 'lib/webhook-function.ts'), 'utf8');
  const banner = /ESM_REQUIRE_BANNER\s*=\s*\n?\s*"([^"]+)"/.exec(source)?.[1];
  const target = /target:\s*'([^']+)'/.exec(source)?.[1];
  const aliasBlock = /BUNDLE_ALIASES[^=]*=\s*\{([^}]*)\}/.exec(source)?.[1];
  if (!banner || !target || aliasBlock === undefined)
    throw new Error('could not read the bundling options from lib/webhook-function.ts');
  const alias = Object.fromEntries(
    [...aliasBlock.matchAll(/'([^']+)':\s*'([^']+)'/g)].map(([, from, to]) => [from as string, to as string]),
  );
  if (Object.keys(alias).length === 0)
    throw new Error('BUNDLE_ALIASES in lib/webhook-function.ts read as empty');
  for (const option of [
    'minify: true',
    'sourceMap: false',
    'format: OutputFormat.ESM',
    "mainFields: ['module', 'main']",
    'externalModules: []',
    "'--alias': Object.entries(BUNDLE_ALIASES)",
  ]) {
    if (!source.includes(option))
      throw new Error(`lib/webhook-function.ts no longer says "${option}"; update bench/sections/bundles.ts`);
  }
  return { banner, target, alias };
}

/**
 * Builds `entry` (a repository-relative path, or `{ contents }` for a generated module) into
 * `outfile` as the stack does, and returns esbuild's metafile.
 */
export async function bundle(
  entry: string | { contents: string },
  outfile: string,
  options: StackBundling = stackBundling(),
): Promise<Metafile> {
  const input: Pick<BuildOptions, 'entryPoints' | 'stdin'> =
    typeof entry === 'string'
      ? { entryPoints: [join(REPO, entry)] }
      : { stdin: { contents: entry.contents, resolveDir: REPO, sourcefile: 'baseline.ts', loader: 'ts' } };
  const result = await build({
    ...input,
    outfile,
    // CDK runs esbuild in the project root; the aliases' relative paths resolve from there.
    absWorkingDir: REPO,
    bundle: true,
    minify: true,
    sourcemap: false,
    platform: 'node',
    format: 'esm',
    target: options.target,
    mainFields: ['module', 'main'],
    banner: { js: options.banner },
    alias: options.alias,
    external: [],
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

/** The packages `node_modules/<pkg>` (or project files) a metafile's output holds, with their bytes. */
function packageBytes(metafile: Metafile): Map<string, number> {
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
  return totals;
}

/** The AWS SDK client packages in a bundle. */
export function sdkClientsIn(metafile: Metafile): string[] {
  return [...packageBytes(metafile).keys()].filter((name) => name.startsWith('@aws-sdk/client-')).sort();
}

/** Bytes in the output per package or project file, biggest first. */
function contributors(metafile: Metafile, limit = 10) {
  const total = Object.values(metafile.outputs)[0]?.bytes ?? 1;
  return [...packageBytes(metafile)]
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
    const functionNames = Object.keys(FUNCTIONS) as FunctionName[];
    const names = functionNames.flatMap((name) => [name, `${name}-baseline`]);
    const file = (name: string) => join(dir, `${name}.mjs`);
    const metafiles = new Map<string, Metafile>();
    for (const name of functionNames) {
      const { entry, clients } = FUNCTIONS[name];
      metafiles.set(name, await bundle(entry, file(name), options));
      metafiles.set(
        `${name}-baseline`,
        await bundle({ contents: clients }, file(`${name}-baseline`), options),
      );
      const inFunction = sdkClientsIn(metafiles.get(name) as Metafile);
      const inBaseline = sdkClientsIn(metafiles.get(`${name}-baseline`) as Metafile);
      if (inFunction.join() !== inBaseline.join())
        throw new Error(
          `${name}'s bundle holds ${inFunction.join(', ')} but its baseline ${inBaseline.join(', ')}: ` +
            'update FUNCTIONS in bench/sections/bundles.ts',
        );
      progress(
        'bundles',
        `built ${name} (${entry}): ${Math.round(statSync(file(name)).size / 1024)} KB; ` +
          `its clients alone (${inFunction.join(', ')}): ${Math.round(statSync(file(`${name}-baseline`)).size / 1024)} KB`,
      );
    }
    const timings = new Map(names.map((name) => [name, [] as Array<{ initMs: number; processMs: number }>]));
    progress('bundles', `timing load and init: ${PROCESSES} fresh node processes per bundle`);
    for (let i = 0; i < PROCESSES; i++) {
      for (const name of names) timings.get(name)?.push(await timeImport(file(name)));
    }
    const rawP50 = (name: string, field: 'initMs' | 'processMs') =>
      median((timings.get(name) ?? []).map((timing) => timing[field]));
    const p50 = (name: string, field: 'initMs' | 'processMs') => round(rawP50(name, field), 1);
    const bundles = Object.fromEntries(
      functionNames.map((name) => {
        const ratio = rawP50(name, 'initMs') / rawP50(`${name}-baseline`, 'initMs');
        return [
          name,
          {
            bytes: statSync(file(name)).size,
            initMsP50: p50(name, 'initMs'),
            baselineInitMsP50: p50(`${name}-baseline`, 'initMs'),
            initRatioVsBaseline: round(ratio, 2),
          },
        ];
      }),
    ) as Record<FunctionName, BundleFigures>;
    const top = Object.fromEntries(
      functionNames.map((name) => [name, contributors(metafiles.get(name) as Metafile)]),
    );
    for (const name of functionNames) {
      process.stderr.write(`  top contributors to the ${name} bundle (${bundles[name].bytes} bytes):\n`);
      for (const item of top[name] ?? []) {
        process.stderr.write(
          `    ${String(item.bytes).padStart(8)}  ${item.share.padStart(6)}  ${item.name}\n`,
        );
      }
    }
    for (const name of functionNames) {
      const figures = bundles[name];
      progress(
        'bundles',
        `${name}: ${figures.bytes} bytes (target <= ${BUNDLE_BYTES_TARGET}), init p50 ${figures.initMsP50} ms, ` +
          `${figures.initRatioVsBaseline}x its baseline's ${figures.baselineInitMsP50} ms ` +
          (name === 'pages' ? '(no SDK client, so no ratio target)' : `(target <= ${INIT_RATIO_TARGET}x)`),
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
        baselines: Object.fromEntries(
          functionNames.map((name) => [
            name,
            {
              clients: FUNCTIONS[name].clients,
              sdkClients: sdkClientsIn(metafiles.get(`${name}-baseline`) as Metafile),
              bytes: statSync(file(`${name}-baseline`)).size,
              initMsP50: bundles[name].baselineInitMsP50,
            },
          ]),
        ),
        withinTargets: Object.fromEntries(
          functionNames.map((name) => [
            name,
            {
              bytes: bundles[name].bytes <= BUNDLE_BYTES_TARGET,
              // A function with no SDK client has an empty module as its baseline: the ratio to
              // a near-zero import time says nothing, so there is no init target for it.
              init: name === 'pages' ? null : bundles[name].initRatioVsBaseline <= INIT_RATIO_TARGET,
            },
          ]),
        ),
        processWallMsP50: Object.fromEntries(names.map((name) => [name, p50(name, 'processMs')])),
        topContributors: top,
        nodeVersion: process.version,
        processes: PROCESSES,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
