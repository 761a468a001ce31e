/**
 * Issue 10, by simulation: one dead or slow endpoint cannot stall the others. The real worker,
 * backlog release and sweep run on a virtual clock over a model SQS queue with an in-flight
 * ceiling (see ./simulation.ts). Scaled down to run in seconds: rates at 1/20 of the issue's
 * (dead 5/s, 20 healthy at 2.5/s in all: the dead endpoint still at twice the healthy traffic),
 * the ceiling at 1,200 instead of about 120,000. Every figure is printed, one line per scenario.
 */
import { describe, expect, it } from 'vitest';
import { SQS_MAX_VISIBILITY_SECONDS } from '../../lambdas/core/config.ts';
import { type EndpointPlan, type SimulationResult, simulate } from './simulation.ts';

const SEED = Number(process.env.MODEL_SEED ?? 20261202);
const CEILING = 1200;
const POLLERS = 10;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const healthy = (count: number, totalPerSecond: number, answerMs = 50): EndpointPlan[] =>
  Array.from({ length: count }, (_, n) => ({
    name: `healthy-${n}`,
    kind: 'healthy',
    ratePerSecond: totalPerSecond / count,
    answer: () => ({ statusCode: 200, durationMs: answerMs }),
  }));

const dead: EndpointPlan = {
  name: 'dead',
  kind: 'dead',
  ratePerSecond: 5,
  answer: () => ({ statusCode: 503, durationMs: 20 }),
};

function line(name: string, result: SimulationResult): string {
  const f = result.fates;
  return (
    `${name}: seed ${SEED}, healthy p95 ${Math.round(result.healthyP95Ms)} ms, healthy ${result.healthyThroughputPerSecond.toFixed(2)}/s, ` +
    `in flight max ${result.maxInFlight}/${CEILING}, receives refused at ceiling ${result.receivesAtCeiling}, ` +
    `dead ${JSON.stringify(f.dead)}, intermittent ${JSON.stringify(f.intermittent)}, slow ${JSON.stringify(f.slow)}, ` +
    `healthy lost ${f.healthy.lost}, sends ${result.sends}, release messages ${result.releaseMessages}, clock steps ${result.clockSteps}`
  );
}

describe('isolation at scale (model)', () => {
  it('1. a dead endpoint at 2x the healthy traffic for an hour: healthy p95 within 10%, in flight under the ceiling, none lost', async () => {
    const base = { seed: SEED, durationMs: HOUR, pollers: POLLERS, inFlightCeiling: CEILING };
    const without = await simulate({ ...base, endpoints: healthy(20, 2.5) });
    const withDead = await simulate({ ...base, endpoints: [...healthy(20, 2.5), dead] });
    console.log(line('scenario 1 without the dead endpoint', without));
    console.log(line('scenario 1 with the dead endpoint', withDead));

    expect(withDead.healthyP95Ms).toBeLessThanOrEqual(without.healthyP95Ms * 1.1);
    expect(withDead.maxInFlight).toBeLessThan(CEILING);
    expect(withDead.fates.dead.produced).toBeGreaterThan(17_000);
    expect(withDead.fates.dead.lost).toBe(0);
    expect(withDead.fates.healthy.lost).toBe(0);
  });

  it('control: with long waits kept in flight and no breaker (the old behaviour), the dead endpoint fills the ceiling', async () => {
    const base = { seed: SEED, durationMs: 20 * MINUTE, pollers: POLLERS, inFlightCeiling: CEILING };
    const old = {
      isolation: { shortWaitMaxSeconds: SQS_MAX_VISIBILITY_SECONDS },
      breaker: { failureThreshold: 1_000_000_000, openSeconds: 60, disableAfterSeconds: 5 * 24 * 3600 },
    };
    const without = await simulate({ ...base, ...old, endpoints: healthy(20, 2.5) });
    const withDead = await simulate({ ...base, ...old, endpoints: [...healthy(20, 2.5), dead] });
    console.log(line('control (old behaviour) without the dead endpoint', without));
    console.log(line('control (old behaviour) with the dead endpoint', withDead));

    // The model catches it: in flight reaches the ceiling, receives are refused, healthy deliveries wait.
    expect(withDead.maxInFlight).toBe(CEILING);
    expect(withDead.receivesAtCeiling).toBeGreaterThan(0);
    expect(withDead.healthyP95Ms).toBeGreaterThan(without.healthyP95Ms * 1.1);
  });
});
