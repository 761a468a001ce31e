/**
 * The worker's pure decisions (lambdas/delivery/decide.ts): the gate before sending, over every
 * combination of endpoint, circuit, redrive, message reason and rate limit; and the decision after
 * a send, for any answer or failure, any place in any schedule, any clock and any jitter draw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CircuitState } from '../../lambdas/core/circuit-breaker.ts';
import {
  type RetryPolicy,
  SHORT_WAIT_MAX_SECONDS,
  SLOW_ANSWER_MS,
  SQS_MAX_VISIBILITY_SECONDS,
  VISIBILITY_CAP_MARGIN_SECONDS,
} from '../../lambdas/core/config.ts';
import type { EndpointRecord } from '../../lambdas/core/records.ts';
import { retryDelaySeconds } from '../../lambdas/core/retry-schedule.ts';
import { type AttemptOutcome, type DecisionContext, decide, gate } from '../../lambdas/delivery/decide.ts';

const ENDPOINT: EndpointRecord = {
  id: 'ep_1',
  url: 'https://receiver.example/hook',
  enabled: true,
  secretName: 'secret',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
};

describe('gate: before sending', () => {
  const endpoints: Array<[string, EndpointRecord | undefined]> = [
    ['enabled', ENDPOINT],
    ['disabled', { ...ENDPOINT, enabled: false }],
    ['disabled with a reason', { ...ENDPOINT, enabled: false, disabledReason: 'receiver answered 410 Gone' }],
    ['deleted', undefined],
  ];
  const circuits: CircuitState[] = [
    { state: 'closed' },
    { state: 'open', retryInSeconds: 30 },
    { state: 'half-open' },
  ];
  const reasons = [undefined, 'new', 'retry', 'released', 'probe'];
  const combinations = endpoints.flatMap(([label, endpoint]) =>
    [undefined, 5].flatMap((rateLimit) =>
      circuits.flatMap((circuit) =>
        [false, true].flatMap((redrive) =>
          reasons.map((reason) => ({
            label,
            endpoint: endpoint && rateLimit ? { ...endpoint, rateLimit } : endpoint,
            circuit,
            redrive,
            reason,
          })),
        ),
      ),
    ),
  );

  it('covers every combination (4 endpoints x 2 rate limits x 3 circuits x 2 x 5 reasons)', () => {
    expect(combinations).toHaveLength(240);
  });

  it.each(combinations)('$label, circuit $circuit.state, redrive $redrive, reason $reason', (input) => {
    const result = gate(input);
    const endpoint = input.endpoint;
    if (!endpoint?.enabled) {
      // Unavailable: dead whatever the circuit, with why in the recorded error.
      expect(result).toEqual({
        kind: 'dead',
        cause: 'endpoint_unavailable',
        error: endpoint
          ? `endpoint_unavailable: endpoint is disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`
          : 'endpoint_unavailable: endpoint was deleted',
      });
    } else if (input.circuit.state === 'half-open' || (input.circuit.state === 'open' && input.redrive)) {
      // The circuit is tested: rateLimit or not.
      expect(result).toEqual({ kind: 'probe' });
    } else if (input.circuit.state === 'open') {
      expect(result).toEqual({ kind: 'park', reason: 'circuit_open' });
    } else if (endpoint.rateLimit && input.reason !== 'released' && input.reason !== 'probe') {
      expect(result).toEqual({ kind: 'park', reason: 'rate_limited' });
    } else {
      expect(result).toEqual({ kind: 'send' });
    }
  });
});

const policy: RetryPolicy = { scheduleSeconds: [0, 10, 30, 60, 120, 900, 3600, 43_200], maxAttempts: 9 };
const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const context = (overrides: Partial<DecisionContext> = {}): DecisionContext => ({
  position: 1,
  policy,
  shortWaitMaxSeconds: SHORT_WAIT_MAX_SECONDS,
  nowMs: T0,
  receivedAtMs: T0,
  random: () => 0.5,
  ...overrides,
});
const answered = (statusCode: number, durationMs = 3, retryAfter?: string): AttemptOutcome => ({
  kind: 'answered',
  statusCode,
  durationMs,
  excerpt: '',
  ...(retryAfter === undefined ? {} : { retryAfter }),
});

/** Any context: a place in the schedule up to past its end, a wait since the receive up to 12 h. */
const contexts = fc
  .record({
    position: fc.integer({ min: 1, max: policy.maxAttempts + 3 }),
    waitedMs: fc.integer({ min: 0, max: SQS_MAX_VISIBILITY_SECONDS * 1000 }),
    draw: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    shortWaitMaxSeconds: fc.constantFrom(60, SHORT_WAIT_MAX_SECONDS, 6 * 3600),
  })
  .map(({ position, waitedMs, draw, shortWaitMaxSeconds }) =>
    context({ position, nowMs: T0 + waitedMs, shortWaitMaxSeconds, random: () => draw }),
  );

/** Any outcome that is retried while the budget lasts: a non-2xx, non-410 answer or a retryable failure. */
const retryable = fc.oneof(
  fc
    .record({
      status: fc
        .integer({ min: 100, max: 599 })
        .filter((status) => (status < 200 || status > 299) && status !== 410),
      retryAfter: fc.option(fc.integer({ min: 0, max: 100_000 }).map(String), { nil: undefined }),
    })
    .map(({ status, retryAfter }) => answered(status, 3, retryAfter)),
  fc.constant<AttemptOutcome>({ kind: 'failed', retryable: true, error: 'timeout: no answer within 15 s' }),
);

describe('decide: after a send', () => {
  it('a 2xx is delivered, slow only above SLOW_ANSWER_MS, at any place in the schedule', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 299 }),
        fc.integer({ min: 0, max: 2 * SLOW_ANSWER_MS }),
        contexts,
        (status, durationMs, at) => {
          expect(decide(answered(status, durationMs), at)).toEqual({
            kind: 'delivered',
            slow: durationMs > SLOW_ANSWER_MS,
          });
        },
      ),
    );
    expect(decide(answered(200, SLOW_ANSWER_MS), context())).toEqual({ kind: 'delivered', slow: false });
    expect(decide(answered(200, SLOW_ANSWER_MS + 1), context())).toEqual({ kind: 'delivered', slow: true });
  });

  it('410 is dead (the endpoint to be disabled) even with budget left', () => {
    fc.assert(
      fc.property(contexts, (at) => {
        expect(decide(answered(410), at)).toEqual({
          kind: 'dead',
          cause: 'gone',
          error: 'receiver answered 410 Gone; endpoint disabled',
        });
      }),
    );
  });

  it('a failure that cannot succeed is dead at once, with its error', () => {
    fc.assert(
      fc.property(contexts, (at) => {
        expect(
          decide({ kind: 'failed', retryable: false, error: 'ssrf_blocked: private address' }, at),
        ).toEqual({
          kind: 'dead',
          cause: 'not_retryable',
          error: 'ssrf_blocked: private address',
        });
      }),
    );
  });

  it('not sent because the circuit opened meanwhile: parked, whatever the budget', () => {
    fc.assert(
      fc.property(contexts, (at) => {
        expect(decide({ kind: 'circuit_open' }, at)).toEqual({ kind: 'park', reason: 'circuit_open' });
      }),
    );
  });

  it('a retryable outcome is dead once the budget is spent, retried before', () => {
    fc.assert(
      fc.property(retryable, contexts, (outcome, at) => {
        const decision = decide(outcome, at);
        if (at.position >= policy.maxAttempts)
          expect(decision).toMatchObject({ kind: 'dead', cause: 'budget_spent' });
        else expect(decision.kind).toBe('retry');
      }),
    );
  });

  it('a retry waits the schedule’s delay (Retry-After within its bounds): out of the queue when long, else in it under the 12-hour cap', () => {
    fc.assert(
      fc.property(retryable, contexts, (outcome, at) => {
        fc.pre(at.position < policy.maxAttempts);
        const decision = decide(outcome, at);
        const retryAfter =
          outcome.kind === 'answered' && outcome.retryAfter ? Number(outcome.retryAfter) : undefined;
        const wanted = retryDelaySeconds(at.position, policy, {
          random: at.random,
          retryAfterSeconds: retryAfter,
        });
        if (decision.kind !== 'retry') throw new Error(`expected a retry, got ${decision.kind}`);
        if (wanted > at.shortWaitMaxSeconds) {
          expect(decision).toMatchObject({ outOfQueue: true, seconds: wanted });
        } else {
          // SQS's cap counts from the receive, before the worker got the record: minutes of margin.
          const waited = Math.ceil((at.nowMs - at.receivedAtMs) / 1000 + VISIBILITY_CAP_MARGIN_SECONDS);
          const ceiling = Math.max(0, SQS_MAX_VISIBILITY_SECONDS - waited - 1);
          expect(decision).toMatchObject({ outOfQueue: false, seconds: Math.min(wanted, ceiling) });
          expect(decision.seconds).toBeLessThanOrEqual(at.shortWaitMaxSeconds);
        }
      }),
    );
  });

  it("a failed attempt's error says what the receiver did", () => {
    const at = context();
    expect(decide(answered(302), at)).toMatchObject({ error: 'redirect 302 not followed' });
    expect(decide(answered(503), at)).toMatchObject({ error: 'receiver error 503' });
    expect(decide(answered(429), at)).toMatchObject({ error: 'receiver refused with 429' });
    expect(decide(answered(500), context({ position: policy.maxAttempts }))).toEqual({
      kind: 'dead',
      cause: 'budget_spent',
      error: 'receiver error 500',
    });
  });

  it('Retry-After lengthens the wait: a 503 asking for an hour at the first retry waits it, out of the queue', () => {
    expect(decide(answered(503, 3, '3600'), context({ position: 2 }))).toEqual({
      kind: 'retry',
      seconds: 3600,
      outOfQueue: true,
      error: 'receiver error 503',
    });
    // Without it, the second entry of the schedule (10 s, jitter at the midpoint), in the queue.
    expect(decide(answered(503), context({ position: 2 }))).toMatchObject({ outOfQueue: false, seconds: 10 });
  });

  it('a wait of exactly the short-wait limit stays in the queue; one second more leaves it', () => {
    const at = context({ position: 2, shortWaitMaxSeconds: 60 });
    expect(decide(answered(503, 3, '60'), at)).toMatchObject({
      kind: 'retry',
      outOfQueue: false,
      seconds: 60,
    });
    expect(decide(answered(503, 3, '61'), at)).toMatchObject({
      kind: 'retry',
      outOfQueue: true,
      seconds: 61,
    });
  });

  it('near the 12-hour cap a short wait is cut to what SQS still allows', () => {
    const late = context({ position: 5, nowMs: T0 + (SQS_MAX_VISIBILITY_SECONDS - 400) * 1000 });
    // 120 s wanted; 400 s left minus the 300 s margin and one second: 99 s.
    expect(decide(answered(500), late)).toMatchObject({ kind: 'retry', outOfQueue: false, seconds: 99 });
  });
});
