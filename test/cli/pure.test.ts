/**
 * The CLI's pure parts: option parsing, the redrive filter and tally, rate limiting, progress
 * rendering, tables, error lines, and telling "no move task here" from a real refusal.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../cli/api-client.ts';
import { CliError, describeError } from '../../cli/errors.ts';
import { fields, formatDuration, formatTime, table, truncate } from '../../cli/format.ts';
import { collectList, parseCount, parseRate, parseTime } from '../../cli/parse.ts';
import { ProgressReporter, progressBar, progressLine, summaryLine } from '../../cli/progress.ts';
import { batchSizeFor, RateLimiter } from '../../cli/rate-limiter.ts';
import {
  decodeBody,
  describeFilter,
  GroupCounter,
  isFiltered,
  matchesFilter,
  redriveKey,
} from '../../cli/redrive-filter.ts';
import { isMoveTaskUnsupported } from '../../lambdas/core/move-task.ts';
import { encodeMessage } from '../../lambdas/core/payload.ts';
import { deliveryMessage } from './support.ts';

const NOW = Date.UTC(2024, 4, 10, 0, 0, 0);

describe('parseTime', () => {
  it('reads Unix seconds, like the API', () => {
    expect(parseTime('1714521600')).toBe(1714521600_000);
  });

  it('reads 13 digits as Unix milliseconds, like createdAtMs', () => {
    expect(parseTime('1714521600123')).toBe(1714521600123);
  });

  it('reads ISO-8601 dates and times', () => {
    expect(parseTime('2024-05-01T00:00:00Z')).toBe(Date.UTC(2024, 4, 1));
    expect(parseTime('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
  });

  it('reads a duration as that long before now', () => {
    expect(parseTime('2h', NOW)).toBe(NOW - 2 * 3600_000);
    expect(parseTime('30m', NOW)).toBe(NOW - 30 * 60_000);
    expect(parseTime('7d', NOW)).toBe(NOW - 7 * 86400_000);
  });

  it('refuses anything else, naming the accepted forms', () => {
    expect(() => parseTime('yesterday')).toThrow(/ISO-8601.*Unix seconds/);
    expect(() => parseTime('2024-13-45')).toThrow(/not a time/);
  });
});

describe('parseCount, parseRate, collectList', () => {
  it('accepts whole numbers in range only', () => {
    expect(parseCount('5')).toBe(5);
    expect(() => parseCount('0')).toThrow(/at least 1/);
    expect(() => parseCount('2.5')).toThrow(/whole number/);
    expect(() => parseCount('1001', 1, 1000)).toThrow(/from 1 to 1000/);
  });

  it('accepts positive rates, fractions included', () => {
    expect(parseRate('0.5')).toBe(0.5);
    expect(() => parseRate('0')).toThrow(/positive/);
    expect(() => parseRate('fast')).toThrow(/positive/);
  });

  it('splits commas and accumulates repeats', () => {
    expect(collectList('a, b,,c', ['z'])).toEqual(['z', 'a', 'b', 'c']);
  });
});

describe('redrive filter', () => {
  const message = deliveryMessage('ep_A', 'invoice.paid', NOW);

  it('selects everything when no criterion is given, unparseable bodies included', () => {
    expect(isFiltered({})).toBe(false);
    expect(matchesFilter(message, {})).toBe(true);
    expect(matchesFilter(undefined, {})).toBe(true);
  });

  it('never selects an unparseable body when filtering', () => {
    expect(matchesFilter(undefined, { endpointIds: ['ep_A'] })).toBe(false);
  });

  it('matches on endpoint', () => {
    expect(matchesFilter(message, { endpointIds: ['ep_A'] })).toBe(true);
    expect(matchesFilter(message, { endpointIds: ['ep_B'] })).toBe(false);
    expect(matchesFilter(message, { endpointIds: ['ep_B', 'ep_A'] })).toBe(true);
  });

  it('matches on type, exactly or by a trailing *', () => {
    expect(matchesFilter(message, { eventTypes: ['invoice.paid'] })).toBe(true);
    expect(matchesFilter(message, { eventTypes: ['invoice.*'] })).toBe(true);
    expect(matchesFilter(message, { eventTypes: ['invoice'] })).toBe(false);
    expect(matchesFilter(message, { eventTypes: ['user.*'] })).toBe(false);
  });

  it('matches on createdAtMs at or after since', () => {
    expect(matchesFilter(message, { sinceMs: NOW })).toBe(true);
    expect(matchesFilter(message, { sinceMs: NOW + 1 })).toBe(false);
  });

  it('needs every criterion to match', () => {
    expect(matchesFilter(message, { endpointIds: ['ep_A'], eventTypes: ['user.created'] })).toBe(false);
  });

  it('decodes delivery messages and nothing else', () => {
    expect(decodeBody(encodeMessage(message))).toEqual(message);
    expect(decodeBody('{"deliveryId": 1}')).toBeUndefined();
    expect(decodeBody('not json')).toBeUndefined();
    expect(decodeBody(undefined)).toBeUndefined();
  });

  it('keys bodies by delivery id, and other bodies by content', () => {
    expect(redriveKey(encodeMessage(message))).toBe(
      redriveKey(encodeMessage({ ...message, reason: 'redrive' })),
    );
    expect(redriveKey('x')).toBe(redriveKey('x'));
    expect(redriveKey('x')).not.toBe(redriveKey('y'));
  });

  it('describes the selection', () => {
    expect(describeFilter({})).toBe('all messages');
    expect(
      describeFilter({ endpointIds: ['ep_A'], eventTypes: ['a.b'], sinceMs: Date.UTC(2024, 0, 1) }),
    ).toBe('endpoint ep_A, type a.b, since 2024-01-01T00:00:00.000Z');
  });

  it('tallies per endpoint and type, largest first', () => {
    const counter = new GroupCounter();
    counter.add(message);
    counter.add(deliveryMessage('ep_B', 'user.created', NOW));
    counter.add(deliveryMessage('ep_B', 'user.created', NOW));
    counter.add(undefined);
    expect(counter.list()).toEqual([
      { endpointId: 'ep_B', eventType: 'user.created', count: 2 },
      { endpointId: 'ep_A', eventType: 'invoice.paid', count: 1 },
      { endpointId: null, eventType: null, count: 1 },
    ]);
  });
});

describe('RateLimiter', () => {
  it('does not wait without a rate', () => {
    const limiter = new RateLimiter(undefined, () => 0);
    expect(limiter.reserve(10)).toBe(0);
    expect(limiter.reserve(10)).toBe(0);
  });

  it('spaces batches by their size over the rate', () => {
    // Prepare
    let now = 1000;
    const limiter = new RateLimiter(4, () => now);
    // Act / Assess: 2 messages at 4/s book 500 ms each time.
    expect(limiter.reserve(2)).toBe(0);
    expect(limiter.reserve(2)).toBe(500);
    now += 200;
    expect(limiter.reserve(1)).toBe(800);
  });

  it('gives no burst credit for idle time', () => {
    let now = 0;
    const limiter = new RateLimiter(1, () => now);
    limiter.reserve(1);
    now = 60_000;
    expect(limiter.reserve(1)).toBe(0);
    expect(limiter.reserve(1)).toBe(1000);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RateLimiter(0)).toThrow(RangeError);
  });

  it('sends about one second worth per batch, one to ten', () => {
    expect(batchSizeFor(undefined)).toBe(10);
    expect(batchSizeFor(0.5)).toBe(1);
    expect(batchSizeFor(3.9)).toBe(3);
    expect(batchSizeFor(500)).toBe(10);
  });
});

describe('progress', () => {
  const progress = { scanned: 40, moved: 35, left: 5, failed: 0, total: 100, elapsedMs: 5000, dryRun: false };

  it('summarises as the operator reads it', () => {
    expect(summaryLine(progress)).toBe('moved 35, left 5 (not matching), failed 0');
    expect(summaryLine({ ...progress, dryRun: true })).toBe('would move 35, left 5 (not matching), failed 0');
  });

  it('renders a plain line for logs', () => {
    expect(progressLine(progress)).toBe(
      'redrive: scanned 40 of ~100, moved 35, left 5 (not matching), failed 0, 7.0/s, 5s',
    );
  });

  it('renders a bar proportional to what was scanned', () => {
    const bar = progressBar(progress, 10);
    expect(bar.startsWith('[████░░░░░░] 40/~100 moved 35')).toBe(true);
    expect(progressBar({ ...progress, total: undefined }, 10).startsWith('40 scanned')).toBe(true);
  });

  it('redraws a bar in place on a terminal, at most every barIntervalMs, and clears it', () => {
    // Prepare
    let now = 0;
    const writes: string[] = [];
    const reporter = new ProgressReporter({ write: (t) => writes.push(t), isTTY: true, now: () => now });
    // Act
    reporter.update(progress);
    now = 50;
    reporter.update(progress);
    now = 150;
    reporter.update(progress);
    reporter.finish();
    // Assess
    expect(writes).toHaveLength(3);
    expect(writes[0]?.startsWith('\r\x1b[2K[')).toBe(true);
    expect(writes[2]).toBe('\r\x1b[2K');
  });

  it('prints plain lines every lineIntervalMs when not a terminal, none for a short run', () => {
    let now = 0;
    const writes: string[] = [];
    const reporter = new ProgressReporter({ write: (t) => writes.push(t), isTTY: false, now: () => now });
    reporter.update(progress);
    now = 4999;
    reporter.update(progress);
    expect(writes).toEqual([]);
    now = 5000;
    reporter.update(progress);
    now = 6000;
    reporter.update(progress);
    reporter.finish();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^redrive: scanned 40 of ~100, .*\n$/);
  });
});

describe('human output', () => {
  it('aligns columns two spaces apart without trailing blanks', () => {
    expect(
      table(
        ['ID', 'STATE', 'URL'],
        [
          ['ep_1', 'enabled', 'https://a'],
          ['ep_22', null, 'https://b'],
        ],
      ),
    ).toBe('ID     STATE    URL\nep_1   enabled  https://a\nep_22  -        https://b\n');
  });

  it('says (none) for an empty table', () => {
    expect(table(['A', 'B'], [])).toBe('A  B\n(none)\n');
  });

  it('aligns key: value lines', () => {
    expect(
      fields([
        ['id', 'x'],
        ['status', 'ok'],
      ]),
    ).toBe('id:     x\nstatus: ok\n');
  });

  it('shortens times, durations and long text', () => {
    expect(formatTime('2024-05-01T12:00:00.123Z')).toBe('2024-05-01T12:00:00Z');
    expect(formatTime(null)).toBe('-');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});

describe('error lines', () => {
  it('shows an API error with its code, status and message', () => {
    expect(describeError(new ApiError(404, 'not_found', 'endpoint "x" does not exist', 'abc'))).toBe(
      'not_found (HTTP 404): endpoint "x" does not exist [Trackingid abc]',
    );
  });

  it('puts a multi-line message on one line', () => {
    expect(describeError(new CliError('one\n  two'))).toBe('one two');
  });

  it('names SDK errors and network failures', () => {
    const sdk = Object.assign(new Error('The specified queue does not exist.'), {
      name: 'QueueDoesNotExist',
    });
    expect(describeError(sdk)).toBe('QueueDoesNotExist: The specified queue does not exist.');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    expect(describeError(refused)).toBe('cannot connect to 127.0.0.1:4566 (connection refused)');
  });
});

describe('isMoveTaskUnsupported', () => {
  const sdkError = (name: string, message: string, httpStatusCode: number) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });

  it('recognises services without the action', () => {
    expect(isMoveTaskUnsupported(sdkError('UnsupportedOperation', 'not here', 400))).toBe(true);
    expect(isMoveTaskUnsupported(sdkError('InvalidAction', 'The action is not valid', 400))).toBe(true);
    expect(isMoveTaskUnsupported(sdkError('Error', 'StartMessageMoveTask is not yet implemented', 500))).toBe(
      true,
    );
    expect(isMoveTaskUnsupported(sdkError('Error', 'whatever', 501))).toBe(true);
    // moto: an HTML error page the SDK cannot parse.
    expect(
      isMoveTaskUnsupported(sdkError('SyntaxError', 'Unexpected token \'<\', "<!doctype "...', 500)),
    ).toBe(true);
  });

  it('does not mistake a real refusal for a missing action', () => {
    expect(isMoveTaskUnsupported(sdkError('AccessDenied', 'not authorized to perform', 403))).toBe(false);
    expect(
      isMoveTaskUnsupported(sdkError('InvalidParameterValue', 'source queue has no DLQ relation', 400)),
    ).toBe(false);
    expect(isMoveTaskUnsupported(sdkError('InternalError', 'try again', 500))).toBe(false);
  });
});
