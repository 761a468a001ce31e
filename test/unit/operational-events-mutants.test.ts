/**
 * Operational events (lambdas/core/operational-events.ts): a detail checked against the schema of
 * its detail-type, and a detail-type that is not one of the published ones refused by name before
 * any schema is looked up (the names of the schemas object's prototype included). Written to kill
 * the module's Stryker mutants (docs/mutation-testing.md); the worker's events are checked
 * against these schemas in test/unit/delivery-mutants-worker.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { validateOperationalEvent } from '../../lambdas/core/operational-events.ts';

const redriven = { version: 1, occurredAt: '2026-12-04T10:00:00.000Z', mode: 'copied' };

describe('validateOperationalEvent', () => {
  it('takes a detail its schema accepts, and names the field of one it refuses', () => {
    expect(validateOperationalEvent('dlq.redriven', redriven)).toEqual({ ok: true });
    expect(validateOperationalEvent('dlq.redriven', { ...redriven, mode: 'moved' })).toEqual({
      ok: false,
      error: expect.stringContaining('at mode'),
    });
  });

  it.each(['endpoint.deleted', 'Dlq.redriven', 'toString', '__proto__', ''])(
    'refuses the detail-type %j as unknown',
    (detailType) => {
      expect(validateOperationalEvent(detailType, redriven)).toEqual({
        ok: false,
        error: `unknown detail-type ${JSON.stringify(detailType)}`,
      });
    },
  );
});
