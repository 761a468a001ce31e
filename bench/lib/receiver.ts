/** Starts lib/receiver-process.ts as a child process and talks to it over IPC. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ReceiverStats {
  readonly requests: number;
  /** The receiver process's cumulative CPU time, microseconds. */
  readonly cpuMicros: number;
}

export interface Receiver {
  /** One listening port per requested endpoint, on 127.0.0.1. */
  readonly ports: readonly number[];
  stats(): Promise<ReceiverStats>;
  /** `[webhook-id, arrival wall-clock ms]` of every request since the last call (record mode). */
  arrivals(): Promise<Array<[string, number]>>;
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./receiver-process.ts', import.meta.url));

export async function startReceiver(options: { ports: number; record?: boolean }): Promise<Receiver> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      BENCH_RECEIVER_PORTS: String(options.ports),
      BENCH_RECEIVER_RECORD: options.record ? '1' : '0',
    },
  });
  const waiting = new Map<number, (message: Record<string, unknown>) => void>();
  let nextId = 1;
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code} before it was ready`)));
    child.on('message', (message: Record<string, unknown>) => {
      if (message.type === 'ready') resolve(message.ports as number[]);
      else waiting.get(message.id as number)?.(message);
    });
  });
  const call = (type: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, (message) => {
        waiting.delete(id);
        resolve(message);
      });
      child.send({ id, type });
    });
  return {
    ports,
    stats: async () => {
      const answer = await call('stats');
      const cpu = answer.cpu as NodeJS.CpuUsage;
      return { requests: answer.requests as number, cpuMicros: cpu.user + cpu.system };
    },
    arrivals: async () => (await call('arrivals')).arrivals as Array<[string, number]>,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ id: 0, type: 'stop' });
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
