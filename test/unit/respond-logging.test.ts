/**
 * A request that fails unexpectedly is logged in our words: the error's class and its stack
 * frames, never its message (an AWS error's text names ARNs and the account id). The caller
 * gets a 500 that names only the Trackingid.
 */
import { expect, it } from 'vitest';
import type { ApiApp } from '../../lambdas/api/app.ts';
import { toHttpResponse } from '../../lambdas/api/respond.ts';

it('logs an unexpected error by class and frames only, and answers 500 with the Trackingid', async () => {
  // Prepare
  const lines: Array<Record<string, unknown>> = [];
  const logger = {
    info: () => {},
    warn: () => {},
    error: (message: string, extra: Record<string, unknown>) => lines.push({ message, ...extra }),
  };
  const app = {
    handle: async () => {
      throw Object.assign(new Error('User arn:aws:iam::123456789012:role/x is not authorized'), {
        name: 'AccessDeniedException',
      });
    },
  } as unknown as ApiApp;

  // Act
  const response = await toHttpResponse(
    app,
    { method: 'GET', path: '/endpoints', headers: {}, query: {}, trackingId: 't-1' },
    logger,
  );

  // Assess
  expect(response.statusCode).toBe(500);
  expect(String(response.body)).not.toContain('123456789012');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ message: 'request failed', error: 'AccessDeniedException' });
  expect(String(lines[0]?.stack)).toMatch(/^\s+at /);
  expect(JSON.stringify(lines)).not.toContain('123456789012');
});
