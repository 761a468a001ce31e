/**
 * Structured JSON log lines and CloudWatch embedded-metric-format (EMF) metrics, written in the
 * shape Powertools for AWS Lambda (TypeScript) writes them, for the few calls the handlers make.
 * Powertools' Logger and Metrics were 32 KB of each bundle and about 6 ms of each cold start
 * (they build their own `Console`s, a configuration service, log buffering and a per-invocation
 * store at import); test/unit/telemetry.test.ts checks that these lines are Powertools' lines,
 * key for key, for the same calls.
 *
 * - Log lines: `level`, `message`, `timestamp` (ISO 8601, UTC: Lambda sets `TZ=:UTC`),
 *   `service`, `sampling_rate` (0: no debug sampling), `xray_trace_id` (from `_X_AMZN_TRACE_ID`,
 *   when set), then a child's persistent keys, then the call's own. DEBUG and INFO go to stdout,
 *   WARN and ERROR to stderr, written on the streams themselves (not through `console`, which
 *   Lambda's runtime rewrites). Errors anywhere in the extra are written as Powertools writes
 *   them (`name`, `location`, `message`, `stack`, `cause`), bigints as strings, and circular
 *   references are left out. The reserved keys are dropped with a warning, as Powertools does.
 * - Level: `POWERTOOLS_LOG_LEVEL` (or `LOG_LEVEL`), upper case, default INFO; Lambda's own
 *   `AWS_LAMBDA_LOG_LEVEL`, when set, is the floor.
 * - Metrics: one EMF object on stdout per publish, namespace and `service` dimension, a metric
 *   added more than once as an array of its values; none with `POWERTOOLS_METRICS_DISABLED=true`.
 *   Publishing with nothing stored writes Powertools' warning to stderr instead, disabled or not.
 */

/** Log level thresholds (Powertools' numbers). */
const LEVELS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
type LevelName = keyof typeof LEVELS;

/** Keys every line carries, which a call's extra may not overwrite. */
const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'level',
  'message',
  'sampling_rate',
  'service',
  'timestamp',
]);

/** A level named exactly (upper case, as Powertools wants it; anything else is ignored). */
const levelFromEnv = (name: string): number | undefined => {
  const value = process.env[name];
  const level = value === 'FATAL' ? 'CRITICAL' : value;
  return level !== undefined && level in LEVELS ? LEVELS[level as LevelName] : undefined;
};

function thresholdFromEnv(): number {
  const chosen = levelFromEnv('POWERTOOLS_LOG_LEVEL') ?? levelFromEnv('LOG_LEVEL') ?? (LEVELS.INFO as number);
  return Math.max(chosen, levelFromEnv('AWS_LAMBDA_LOG_LEVEL') ?? 0);
}

/** The trace id of the current invocation (`Root=1-...;Parent=...;Sampled=1` → `1-...`). */
function xrayTraceId(): string | undefined {
  const header = process.env._X_AMZN_TRACE_ID;
  if (!header) return undefined;
  return header.split(';')[0]?.replace('Root=', '');
}

/** Where an error was thrown, `file:line`, as Powertools reports it. */
function codeLocation(stack: string | undefined): string {
  for (const line of stack?.split('\n') ?? []) {
    const match = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/.exec(line);
    if (match) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}

function formatError(error: Error): Record<string, unknown> {
  const { name, message, stack, cause } = error;
  const formatted: Record<string, unknown> = {
    name,
    location: codeLocation(stack),
    message,
    stack,
    cause: cause instanceof Error ? formatError(cause) : cause,
  };
  for (const key in error) {
    if (!['name', 'message', 'stack', 'cause'].includes(key))
      formatted[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return formatted;
}

/** JSON.stringify replacer: errors formatted, bigints as strings, circular references dropped. */
function replacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown) {
    const replaced = value instanceof Error ? formatError(value) : value;
    if (typeof replaced === 'bigint') return replaced.toString();
    if (typeof replaced === 'object' && replaced !== null) {
      while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
      if (ancestors.includes(replaced)) return undefined;
      ancestors.push(replaced);
    }
    return replaced;
  };
}

export interface LoggerOptions {
  readonly serviceName: string;
}

export interface ChildOptions {
  readonly persistentKeys: Record<string, unknown>;
}

/** JSON log lines, one per call at or above the configured level. */
export class Logger {
  readonly #service: string;
  readonly #persistent: Record<string, unknown>;
  readonly #threshold: number;

  constructor(
    options: LoggerOptions,
    persistent: Record<string, unknown> = {},
    threshold = thresholdFromEnv(),
  ) {
    this.#service = options.serviceName;
    this.#persistent = persistent;
    this.#threshold = threshold;
  }

  /** A logger whose lines also carry `persistentKeys` (after the parent's own). */
  createChild(options: ChildOptions): Logger {
    return new Logger(
      { serviceName: this.#service },
      { ...this.#persistent, ...this.#withoutReserved(options.persistentKeys) },
      this.#threshold,
    );
  }

  debug(message: string, extra?: Record<string, unknown>): void {
    this.#write('DEBUG', message, extra);
  }

  info(message: string, extra?: Record<string, unknown>): void {
    this.#write('INFO', message, extra);
  }

  warn(message: string, extra?: Record<string, unknown>): void {
    this.#write('WARN', message, extra);
  }

  error(message: string, extra?: Record<string, unknown>): void {
    this.#write('ERROR', message, extra);
  }

  #withoutReserved(attributes: Record<string, unknown>): Record<string, unknown> {
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(attributes)) {
      if (RESERVED_KEYS.has(key)) this.warn(`The key "${key}" is a reserved key and will be dropped.`);
      else kept[key] = value;
    }
    return kept;
  }

  #write(level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string, extra?: Record<string, unknown>): void {
    if (LEVELS[level] < this.#threshold) return;
    const line = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.#service,
      sampling_rate: 0,
      xray_trace_id: xrayTraceId(),
      ...this.#persistent,
      ...(extra ? this.#withoutReserved(extra) : {}),
    };
    const text = `${JSON.stringify(line, replacer())}\n`;
    if (level === 'WARN' || level === 'ERROR') process.stderr.write(text);
    else process.stdout.write(text);
  }
}

/** The metric units the handlers use. */
export const MetricUnit = { Count: 'Count', Milliseconds: 'Milliseconds' } as const;
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

export interface MetricsOptions {
  readonly namespace: string;
  readonly serviceName: string;
}

/** Most metrics one EMF object may define (CloudWatch's limit); more are published in several. */
const MAX_METRICS_PER_OBJECT = 100;

/** Metrics stored during an invocation and written as EMF when published. */
export class Metrics {
  readonly #namespace: string;
  readonly #service: string;
  readonly #disabled = process.env.POWERTOOLS_METRICS_DISABLED?.toLowerCase() === 'true';
  #stored = new Map<string, { unit: MetricUnit; values: number[] }>();

  constructor(options: MetricsOptions) {
    this.#namespace = options.namespace;
    this.#service = options.serviceName;
  }

  addMetric(name: string, unit: MetricUnit, value: number): void {
    const stored = this.#stored.get(name);
    if (stored) stored.values.push(value);
    else {
      if (this.#stored.size >= MAX_METRICS_PER_OBJECT) this.publishStoredMetrics();
      this.#stored.set(name, { unit, values: [value] });
    }
  }

  hasStoredMetrics(): boolean {
    return this.#stored.size > 0;
  }

  /** Writes the stored metrics as one EMF object and forgets them. */
  publishStoredMetrics(): void {
    const stored = this.#stored;
    this.#stored = new Map();
    if (stored.size === 0) {
      process.stderr.write(
        'No application metrics to publish. The cold-start metric may be published if enabled. ' +
          'If application metrics should never be empty, consider using `throwOnEmptyMetrics`\n',
      );
      return;
    }
    if (this.#disabled) return;
    const emf: Record<string, unknown> = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: [['service']],
            Metrics: [...stored].map(([name, { unit }]) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      service: this.#service,
    };
    for (const [name, { values }] of stored) emf[name] = values.length === 1 ? values[0] : values;
    process.stdout.write(`${JSON.stringify(emf)}\n`);
  }
}
