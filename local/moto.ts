/**
 * Starts and stops moto servers (the AWS API emulator) on loopback. Local mode, the bench and
 * the integration tests run one server per AWS service the product calls: moto handles one
 * request at a time per process (Python), so three processes serve about three times what one
 * does, on as many cores as there are. The AWS SDK reaches each through its service-specific
 * endpoint variable (`AWS_ENDPOINT_URL_SQS`, ...), so the product code does not know.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** The AWS services the product calls, each emulated by a moto server of its own. */
export const EMULATED_SERVICES = ['sqs', 'dynamodb', 'secretsManager'] as const;
export type EmulatedService = (typeof EMULATED_SERVICES)[number];

/** Where each emulated service answers: `http://127.0.0.1:<port>` per service. */
export type ServiceEndpoints = Readonly<Record<EmulatedService, string>>;

/** One emulator URL for every service, or one per service. */
export type EmulatorEndpoints = string | ServiceEndpoints;

/**
 * The AWS SDK's service-specific endpoint variables: `AWS_ENDPOINT_URL_` and the service id
 * in capitals, spaces as underscores (the SDK's serviceId: `SQS`, `DynamoDB`, `Secrets Manager`).
 * Each overrides `AWS_ENDPOINT_URL` for its service.
 */
export const SERVICE_ENDPOINT_ENV: Readonly<Record<EmulatedService, string>> = {
  sqs: 'AWS_ENDPOINT_URL_SQS',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  secretsManager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
};

/** Every service's endpoint: `endpoint` itself if it is one URL for all. */
export function perService(endpoint: EmulatorEndpoints): ServiceEndpoints {
  if (typeof endpoint !== 'string') return endpoint;
  return { sqs: endpoint, dynamodb: endpoint, secretsManager: endpoint };
}

/**
 * The endpoints `env` names, as the SDK would pick them: `AWS_ENDPOINT_URL_<SERVICE>`, else
 * `AWS_ENDPOINT_URL`. Services it names neither way are absent.
 */
export function endpointsFromEnv(env: NodeJS.ProcessEnv): Partial<Record<EmulatedService, string>> {
  const found: Partial<Record<EmulatedService, string>> = {};
  for (const service of EMULATED_SERVICES) {
    const url = env[SERVICE_ENDPOINT_ENV[service]] || env.AWS_ENDPOINT_URL;
    if (url) found[service] = url;
  }
  return found;
}

/** A moto server on its own free loopback port. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** The emulators of a run: one endpoint per service, and the servers this process started. */
export interface MotoServers {
  readonly endpoints: ServiceEndpoints;
  /** The services whose server was started here (the others were given, and are left running). */
  readonly started: readonly EmulatedService[];
  /** Stops the servers started here. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms`);
}

/** Starts `moto_server` on 127.0.0.1 and a free port, and waits until it answers. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitUntilUp(endpoint, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * One moto server per service, started in parallel (so it takes about as long as one), except
 * for the services `given` already names: those are used as they are and not stopped here.
 * If one server fails to start, the others are stopped before the error is thrown.
 */
export async function startMotoPerService(
  given: Partial<Record<EmulatedService, string>> = {},
): Promise<MotoServers> {
  const missing = EMULATED_SERVICES.filter((service) => !given[service]);
  const results = await Promise.allSettled(missing.map(() => startMoto()));
  const servers = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const endpoints = { ...given } as Record<EmulatedService, string>;
  missing.forEach((service, index) => {
    endpoints[service] = (servers[index] as MotoServer).endpoint;
  });
  return { endpoints, started: missing, stop };
}
