/**
 * A short chaos run (scripts/chaos.ts) on moto: 120 events to receivers that fail at random,
 * a compressed schedule so that some deliveries die, then a heal and a DLQ redrive. Nothing
 * may be lost. `npm run chaos -- --events 1000` is the long version.
 */
import { expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos.ts';

it('loses nothing under random receiver faults, through death and a DLQ redrive', {
  timeout: 300_000,
}, async () => {
  // Act
  const summary = await runChaos({ events: 120 });
  console.info(`chaos: ${JSON.stringify(summary)}`);

  // Assess
  expect(summary.lost).toBe(0);
  expect(summary.deliveredAfterRedrive).toBe(summary.deliveries);
  expect(summary.deliveredFirstPass + summary.deadFirstPass).toBeLessThanOrEqual(summary.deliveries);
  expect(summary.deadNotInDlq).toBe(0);
  expect(summary.dlqFirstPass).toBeGreaterThanOrEqual(summary.deadFirstPass);
  expect(summary.redirectsFollowed).toBe(0);
});
