/** The dead-letter queue: its depth, and redriving it back to the delivery queue. */
import { operationalEvent } from '../../core/operational-events.ts';
import type { ApiContext } from '../context.ts';
import { type Route, route } from '../router.ts';

export function dlqRoutes(ctx: ApiContext): Route[] {
  return [
    route('GET', '/dlq', async () => ({ status: 200, body: await ctx.deps.queue.deadLetterDepth() })),
    // 202 when SQS took the whole queue as a move task, 200 with the count when copied here.
    route('POST', '/dlq/redrive', async () => {
      const outcome = await ctx.deps.queue.redriveDeadLetters();
      await ctx.deps.operationalEvents?.publish(
        operationalEvent('dlq.redriven', { occurredAt: new Date(ctx.now()).toISOString(), ...outcome }),
      );
      return { status: outcome.mode === 'move-task' ? 202 : 200, body: outcome };
    }),
  ];
}
