/**
 * Every timing and limit of the product, in one place.
 *
 * The CDK stack, the Lambda handlers and the local runner all read this module, so the
 * queue's redrive policy, the function timeouts and the retry schedule the handlers apply
 * can never drift apart. Handlers read the environment at cold start; the stack writes the
 * same values into each function's environment, and local mode may compress them with
 * `WEBHOOKS_RETRY_SCHEDULE` and `WEBHOOKS_MAX_ATTEMPTS`.
 *
 * No AWS or network imports here: this file is bundled into every Lambda.
 */

/** SQS refuses a visibility timeout over 12 hours from the moment a message was received. */
export const SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** Default delays between attempts, in seconds: attempt n+1 waits `schedule[n-1]` after attempt n fails. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [
  0,
  10,
  30,
  60,
  120,
  5 * 60,
  10 * 60,
  20 * 60,
  40 * 60,
  60 * 60,
  2 * 60 * 60,
  4 * 60 * 60,
  8 * 60 * 60,
  12 * 60 * 60,
];

/**
 * Attempts in all, first one included. With the schedule above, 19 attempts span about
 * 3.2 days (the last delay, 12 h, repeats), like Stripe's three days.
 */
export const DEFAULT_MAX_ATTEMPTS = 19;

/**
 * The delivery queue's maxReceiveCount is the attempt budget plus this. The worker itself parks
 * a delivery whose budget is spent (dead in the records, copied to the DLQ); SQS's own move to
 * the DLQ only catches messages whose last receives never reached the worker (a lost receive,
 * a crashed or throttled instance), so those end in the DLQ too.
 */
export const REDRIVE_HEADROOM_RECEIVES = 5;

/** maxReceiveCount of the delivery queue's redrive policy for a policy. */
export const maxReceiveCountOf = (policy: RetryPolicy): number =>
  policy.maxAttempts + REDRIVE_HEADROOM_RECEIVES;

/** Each delay is multiplied by a random factor in [1 - JITTER_RATIO, 1 + JITTER_RATIO]. */
export const JITTER_RATIO = 0.2;

/** Whole-request deadline for one webhook POST, connect to last body byte. */
export const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Deadline for resolving one delivery host (A and AAAA together). Past it the lookup fails as a
 * retryable `dns_error`, whatever the DNS server does later: a resolver that never answers
 * costs each of its deliveries this long and nothing more, and holds no thread (the lookup runs
 * on c-ares, on the event loop, not on libuv's threadpool; see lambdas/adapters/dns-resolver.ts).
 */
export const DNS_LOOKUP_TIMEOUT_MS = 3_000;

/** Response bytes kept per attempt (and read at most, beyond which the connection is dropped). */
export const RESPONSE_EXCERPT_BYTES = 4 * 1024;

/**
 * An answer slower than this counts against the endpoint's circuit like a failure, even a 2xx:
 * a receiver that takes 14 s to say 200 holds a worker's slot for all that time.
 */
export const SLOW_ANSWER_MS = REQUEST_TIMEOUT_MS / 2;

/**
 * The longest wait a retry spends in the delivery queue (as the message's visibility timeout).
 * A longer wait leaves the queue: the message is deleted and the delivery's record waits in the
 * `byWait` index until the sweep sends it again at its time. So in flight stays bounded by what
 * fails within this window, whatever fails for days: a standard queue stops handing out
 * messages to everyone at about 120,000 in flight.
 */
export const SHORT_WAIT_MAX_SECONDS = 15 * 60;

/**
 * A due retry the sweep has sent moves this far ahead in the `byWait` index, rather than out of
 * it: if its message is lost, the sweep sends it again then. Its outcome takes it out.
 */
export const DUE_CLAIM_SECONDS = 15 * 60;

/** Due retries one sweep sends at most (the rest are the next minute's). */
export const SWEEP_BATCH_DUE = 1000;

/**
 * Held deliveries (an open circuit's backlog, or over an endpoint's rateLimit) released per
 * second per endpoint once it takes deliveries again, oldest first: a consumer coming back is
 * not flattened by its whole backlog at once. `WEBHOOKS_BACKLOG_RELEASE_PER_SECOND` overrides it.
 */
export const BACKLOG_RELEASE_PER_SECOND = 25;

/**
 * One release covers this many seconds of an endpoint's release rate, spread over them with
 * SQS per-message delays; the next release is queued to come back when they are over.
 */
export const BACKLOG_RELEASE_WINDOW_SECONDS = 20;

/**
 * An endpoint leaves the `byBacklog` index only when its backlog has been found empty this long
 * with no hold in between (longer than any lag of the index the release reads).
 */
export const BACKLOG_EMPTY_GRACE_MS = 60_000;

/** How the delivery function keeps endpoints apart; the stack writes it into its environment. */
export interface IsolationSettings {
  /** Backlog deliveries released per second per endpoint (see {@link BACKLOG_RELEASE_PER_SECOND}). */
  readonly releasePerSecond: number;
  /** Longest retry wait kept in the queue (see {@link SHORT_WAIT_MAX_SECONDS}); tests shorten it. */
  readonly shortWaitMaxSeconds: number;
}

export const DEFAULT_ISOLATION: IsolationSettings = {
  releasePerSecond: BACKLOG_RELEASE_PER_SECOND,
  shortWaitMaxSeconds: SHORT_WAIT_MAX_SECONDS,
};

/** The settings in force: `WEBHOOKS_BACKLOG_RELEASE_PER_SECOND`, `WEBHOOKS_SHORT_WAIT_MAX_SECONDS`. */
export function isolationFromEnv(env: NodeJS.ProcessEnv = process.env): IsolationSettings {
  const shortWait = env.WEBHOOKS_SHORT_WAIT_MAX_SECONDS;
  const shortWaitMaxSeconds =
    shortWait === undefined || shortWait === '' ? SHORT_WAIT_MAX_SECONDS : Number(shortWait);
  if (
    !Number.isInteger(shortWaitMaxSeconds) ||
    shortWaitMaxSeconds < 0 ||
    shortWaitMaxSeconds > SHORT_WAIT_MAX_SECONDS
  ) {
    throw new Error(
      `WEBHOOKS_SHORT_WAIT_MAX_SECONDS must be a whole number from 0 to ${SHORT_WAIT_MAX_SECONDS}, got "${shortWait}"`,
    );
  }
  return {
    releasePerSecond: positiveInteger(
      'WEBHOOKS_BACKLOG_RELEASE_PER_SECOND',
      env.WEBHOOKS_BACKLOG_RELEASE_PER_SECOND,
      BACKLOG_RELEASE_PER_SECOND,
    ),
    shortWaitMaxSeconds,
  };
}

/** The environment that {@link isolationFromEnv} reads back. */
export function isolationEnv(settings: IsolationSettings): Record<string, string> {
  return {
    WEBHOOKS_BACKLOG_RELEASE_PER_SECOND: String(settings.releasePerSecond),
    WEBHOOKS_SHORT_WAIT_MAX_SECONDS: String(settings.shortWaitMaxSeconds),
  };
}

/** Concurrent requests to one endpoint from one function instance. */
export const MAX_IN_FLIGHT_PER_ENDPOINT = 5;

/** Delivery function timeout; the queue's visibility timeout is six times this. */
export const DELIVERY_FUNCTION_TIMEOUT_SECONDS = 45;

/** Visibility timeout of the delivery queue (AWS's advice: at least 6 x the function timeout). */
export const DELIVERY_QUEUE_VISIBILITY_SECONDS = 6 * DELIVERY_FUNCTION_TIMEOUT_SECONDS;

/** Delivery queue retention: the maximum, far beyond the ~3.2-day schedule. */
export const DELIVERY_QUEUE_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** DLQ retention: the maximum. SQS counts it from the first enqueue, not from the move. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** Records per delivery function invocation. */
export const DELIVERY_BATCH_SIZE = 10;

/** Upper bound on concurrent delivery function instances (event source mapping maximum concurrency). */
export const DELIVERY_MAX_CONCURRENCY = 10;

/** API function timeout. Its AWS calls have shorter deadlines so it always answers. */
export const API_FUNCTION_TIMEOUT_SECONDS = 10;

/**
 * Largest message SQS takes, and largest SendMessageBatch request (both 1 MiB). The stack sets
 * the queues' MaximumMessageSize to this explicitly: a queue created with an older default
 * refuses anything over 256 KiB.
 */
export const SQS_MAX_MESSAGE_BYTES = 1024 * 1024;
export const SQS_MAX_BATCH_BYTES = 1024 * 1024;
export const SQS_MAX_BATCH_ENTRIES = 10;

/** Bytes a delivery message adds to its body: its one line of ids (about 250 bytes) and headroom. */
export const MESSAGE_OVERHEAD_BYTES = 1024;

/**
 * Largest accepted request body, derived from the real limits. The event item holds the body
 * (deflated when that is smaller, but random data does not shrink) under DynamoDB's 400 KB item
 * limit; the SQS message carries it once (see lambdas/core/payload.ts). In the worst case, a
 * body of U+FFFE/U+FFFF characters (3 bytes each) written as 6-byte escapes, a message is
 * twice the request plus {@link MESSAGE_OVERHEAD_BYTES}: still under {@link SQS_MAX_MESSAGE_BYTES}.
 */
export const MAX_REQUEST_BODY_BYTES = 200 * 1024;

/** Most events one `POST /events/batch` carries. */
export const MAX_BATCH_EVENTS = 100;

/**
 * Largest `POST /events/batch` body: room for 100 events of about 10 KB. Each event in it is
 * still held to {@link MAX_REQUEST_BODY_BYTES}, so every one fits one message; the whole stays
 * far below Lambda's 6 MB synchronous payload.
 */
export const MAX_BATCH_BODY_BYTES = 1024 * 1024;

/**
 * An event stored but not yet queued is leased by the request that stored it for this long (the
 * API function's timeout): a retry with the same Idempotency-Key within it gets 409, after it
 * the retry sends what is missing itself.
 */
export const EVENT_LEASE_SECONDS = API_FUNCTION_TIMEOUT_SECONDS;

/**
 * The API's own deadline for queueing an event, inside the function's timeout: past it, it stops
 * retrying SQS, leaves the event to the sweep and answers 503, rather than being killed mid-way.
 */
export const INGEST_DEADLINE_MS = (API_FUNCTION_TIMEOUT_SECONDS - 3) * 1000;

/**
 * An event-check message comes back this long after an event with a key was accepted (longer
 * than the lease, at most SQS's 900 s delay). `WEBHOOKS_EVENT_CHECK_DELAY_SECONDS` overrides it
 * (tests shorten it); the stack writes the value into the API function's environment.
 */
export const EVENT_CHECK_DELAY_SECONDS = 60;

/** The event-check delay in force: `WEBHOOKS_EVENT_CHECK_DELAY_SECONDS`, 1 to 900, or the default. */
export function eventCheckDelayFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const value = positiveInteger(
    'WEBHOOKS_EVENT_CHECK_DELAY_SECONDS',
    env.WEBHOOKS_EVENT_CHECK_DELAY_SECONDS,
    EVENT_CHECK_DELAY_SECONDS,
  );
  if (value > 900)
    throw new Error(`WEBHOOKS_EVENT_CHECK_DELAY_SECONDS is at most 900 (SQS's delay), got ${value}`);
  return value;
}

/** How often the sweep function runs; it queues events left accepted. */
export const SWEEP_INTERVAL_MINUTES = 1;

/** The sweep function's timeout, and the most events one run takes on. */
export const SWEEP_FUNCTION_TIMEOUT_SECONDS = 60;
export const SWEEP_BATCH_EVENTS = 200;

/** A manual retry is refused (409) while an earlier one is queued and younger than this. */
export const MANUAL_RETRY_COOLDOWN_SECONDS = 30;

/** Events (and with them their idempotency keys) are kept this long for replay and retry. */
export const EVENT_RETENTION_SECONDS = 30 * 24 * 60 * 60;

/** Delivery and attempt records are kept this long. */
export const DELIVERY_RETENTION_SECONDS = 30 * 24 * 60 * 60;

/** After a secret rotation the previous secret keeps signing this long. */
export const SECRET_ROTATION_OVERLAP_SECONDS = 24 * 60 * 60;

/** How long a function instance trusts its cached copy of an endpoint secret. */
export const SECRET_CACHE_TTL_MS = 5 * 60 * 1000;

/**
 * How long an API function instance trusts its cached copy of a tenant's endpoints for fan-out:
 * a new, changed, disabled or deleted endpoint applies to events within this window on every
 * instance (at once on the instance that made the change).
 */
export const ENDPOINT_CACHE_TTL_MS = 2 * 1000;

/** How long the authorizer and the API function trust their cached copy of the API key hashes. */
export const API_KEY_CACHE_TTL_MS = 25 * 1000;

/**
 * How long API Gateway caches the authorizer's answer for one `Authorization` value. With
 * {@link API_KEY_CACHE_TTL_MS}, a revoked key stops working within 55 s.
 */
export const AUTHORIZER_CACHE_SECONDS = 30;

/**
 * Paths served (GET) without a credential and without the authorizer: the pages and the API
 * description, which hold no data. Every other route has the authorizer before it.
 */
export const OPEN_ROUTES: readonly string[] = ['/dashboard', '/portal', '/openapi.json'];

/** How long the portal signing key is cached (it never changes once the stack made it). */
export const PORTAL_KEY_CACHE_TTL_MS = 60 * 60 * 1000;

/** Largest page of `GET /deliveries` and `GET /events`. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 25;

/** API Gateway stage throttling (requests per second, burst). */
export const API_THROTTLE_RATE_PER_SECOND = 500;
export const API_THROTTLE_BURST = 1000;

/**
 * `POST /endpoints/{id}/recover` is paged: one call queues at most this many deliveries, and stops
 * earlier at {@link RECOVER_TIME_BUDGET_MS}, answering a cursor to resume from.
 */
export const RECOVER_PAGE_SIZE = 100;
export const RECOVER_TIME_BUDGET_MS = 5_000;

/**
 * A visibility timeout is set at most this much under SQS's 12-hour cap, measured from the
 * handler's start: the receive happened earlier (the event source mapping's batching window and
 * the invoke itself), and SQS measures from the receive.
 */
export const VISIBILITY_CAP_MARGIN_SECONDS = 5 * 60;

/** The circuit breaker and auto-disable policy of the delivery function. */
export interface BreakerPolicy {
  /** Consecutive failed attempts after which an endpoint's circuit opens. */
  readonly failureThreshold: number;
  /** How long an open circuit defers messages before one probe is let through. */
  readonly openSeconds: number;
  /** An endpoint failing without a single success for this long is disabled. */
  readonly disableAfterSeconds: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failureThreshold: 10,
  openSeconds: 60,
  disableAfterSeconds: 5 * 24 * 60 * 60,
};

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** Reads the breaker policy from `WEBHOOKS_BREAKER_*` and `WEBHOOKS_DISABLE_AFTER_SECONDS`. */
export function breakerPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): BreakerPolicy {
  return {
    failureThreshold: positiveInteger(
      'WEBHOOKS_BREAKER_THRESHOLD',
      env.WEBHOOKS_BREAKER_THRESHOLD,
      DEFAULT_BREAKER_POLICY.failureThreshold,
    ),
    openSeconds: positiveInteger(
      'WEBHOOKS_BREAKER_OPEN_SECONDS',
      env.WEBHOOKS_BREAKER_OPEN_SECONDS,
      DEFAULT_BREAKER_POLICY.openSeconds,
    ),
    disableAfterSeconds: positiveInteger(
      'WEBHOOKS_DISABLE_AFTER_SECONDS',
      env.WEBHOOKS_DISABLE_AFTER_SECONDS,
      DEFAULT_BREAKER_POLICY.disableAfterSeconds,
    ),
  };
}

/** Serialises a breaker policy into the variables {@link breakerPolicyFromEnv} reads. */
export function breakerPolicyEnv(policy: BreakerPolicy): Record<string, string> {
  return {
    WEBHOOKS_BREAKER_THRESHOLD: String(policy.failureThreshold),
    WEBHOOKS_BREAKER_OPEN_SECONDS: String(policy.openSeconds),
    WEBHOOKS_DISABLE_AFTER_SECONDS: String(policy.disableAfterSeconds),
  };
}

/** The retry policy in force for this process. */
export interface RetryPolicy {
  /** Delays in seconds; the last one repeats until the attempt budget is spent. */
  readonly scheduleSeconds: readonly number[];
  /** Attempts in all (the delivery queue's maxReceiveCount is this plus REDRIVE_HEADROOM_RECEIVES, a backstop). */
  readonly maxAttempts: number;
}

function parseSchedule(raw: string): number[] {
  const parts = raw.split(',').map((part) => part.trim());
  const values = parts.map(Number);
  if (values.length === 0 || values.some((value) => !Number.isFinite(value) || value < 0)) {
    throw new Error(`WEBHOOKS_RETRY_SCHEDULE must be comma-separated non-negative seconds, got "${raw}"`);
  }
  return values.map((value) => Math.min(value, SQS_MAX_VISIBILITY_SECONDS));
}

function parseMaxAttempts(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new Error(`WEBHOOKS_MAX_ATTEMPTS must be an integer from 1 to 1000, got "${raw}"`);
  }
  return value;
}

/**
 * Reads the retry policy from `WEBHOOKS_RETRY_SCHEDULE` and `WEBHOOKS_MAX_ATTEMPTS`, falling
 * back to the defaults. The stack sets both variables on the delivery function, so what the
 * handler applies is what the queue's redrive policy was built from.
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const schedule = env.WEBHOOKS_RETRY_SCHEDULE;
  const attempts = env.WEBHOOKS_MAX_ATTEMPTS;
  return {
    scheduleSeconds: schedule ? parseSchedule(schedule) : DEFAULT_RETRY_SCHEDULE_SECONDS,
    maxAttempts: attempts ? parseMaxAttempts(attempts) : DEFAULT_MAX_ATTEMPTS,
  };
}

/** Serialises a policy into the environment variables {@link retryPolicyFromEnv} reads. */
export function retryPolicyEnv(policy: RetryPolicy): Record<string, string> {
  return {
    WEBHOOKS_RETRY_SCHEDULE: policy.scheduleSeconds.join(','),
    WEBHOOKS_MAX_ATTEMPTS: String(policy.maxAttempts),
  };
}
