/**
 * Captures the JSON log lines the handlers write on stdout and stderr (lambdas/adapters/telemetry.ts
 * writes on the streams themselves), keeps them for the test to read, and keeps them out of the
 * test output. Anything else written is passed through.
 */
export interface CapturedLogs {
  /** Every JSON log line written since the capture began, parsed. */
  readonly lines: Array<Record<string, unknown>>;
  /** Every line written (JSON or not), raw, for "never appears anywhere" checks. */
  readonly raw: string[];
  stop(): void;
}

export function captureLogs(): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, index) => {
    const original = originals[index] as typeof stream.write;
    stream.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      const written = text.split('\n').filter(Boolean);
      raw.push(...written);
      const logLines = written.filter((line) => line.startsWith('{"level"'));
      for (const line of logLines) lines.push(JSON.parse(line) as Record<string, unknown>);
      if (written.length > 0 && logLines.length === written.length) return true;
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
  });
  return {
    lines,
    raw,
    stop: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    },
  };
}
