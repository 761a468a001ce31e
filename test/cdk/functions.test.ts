import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_BREAKER_POLICY,
  DEFAULT_ISOLATION,
  DEFAULT_MAX_ATTEMPTS,
  EVENT_CHECK_DELAY_SECONDS,
} from '../../lambdas/core/config.ts';
import { logicalId, type Synthesized, synthesize } from './stack-fixture.ts';

/** The default schedule, spelled out: a change to it should be a visible change here. */
const DEFAULT_SCHEDULE = '0,10,30,60,120,300,600,1200,2400,3600,7200,14400,28800,43200';

const ONE_MONTH_IN_DAYS = 30;
const REPO = join(import.meta.dirname, '../..');

describe('functions', () => {
  let synth: Synthesized;
  let functions: Record<string, { Properties: Record<string, unknown> }>;
  let assemblyDirectory: string;

  // Prepare and Act: the default stack, synthesized once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize();
    functions = synth.template.findResources('AWS::Lambda::Function') as typeof functions;
    assemblyDirectory = synth.app.synth().directory;
  });

  function propertiesOf(construct: IConstruct): Record<string, unknown> {
    const properties = functions[logicalId(construct)]?.Properties;
    if (!properties) throw new Error(`no function ${construct.node.path} in the template`);
    return properties;
  }

  function ourFunctions(): Record<string, unknown>[] {
    const { stack } = synth;
    return [
      stack.api.function,
      stack.api.pagesFunction,
      stack.delivery.function,
      stack.apiKeys.node.findChild('BootstrapFunction'),
    ].map(propertiesOf);
  }

  it('runs every function of ours on Node.js 22, arm64, with active tracing and 256 MiB', () => {
    for (const properties of ourFunctions()) {
      expect(properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: 256,
        Handler: 'index.handler',
      });
    }
  });

  it('gives every function of ours its own log group, kept one month', () => {
    const logGroups = synth.template.findResources('AWS::Logs::LogGroup');

    for (const properties of ourFunctions()) {
      const ref = (properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(logGroups[ref]?.Properties.RetentionInDays).toBe(ONE_MONTH_IN_DAYS);
    }
  });

  it('attaches no AWS managed policy to any role', () => {
    const roles = synth.template.findResources('AWS::IAM::Role');

    for (const role of Object.values(roles)) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('bundles ESM code that carries its own AWS SDK instead of importing the runtime copy', () => {
    const pages = propertiesOf(synth.stack.api.pagesFunction);
    // The pages function calls no AWS service: it has no SDK to carry (checked below).
    for (const properties of ourFunctions().filter((properties) => properties !== pages)) {
      const s3Key = (properties.Code as { S3Key: string }).S3Key;
      const bundle = readFileSync(
        join(assemblyDirectory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs'),
        'utf8',
      );

      expect(bundle.startsWith('import { createRequire')).toBe(true);
      // No static or dynamic import of an SDK package left for the runtime to resolve ...
      expect(bundle.match(/(from\s*|import\(\s*)["']@aws-sdk\/[^"']*["']/)?.[0]).toBeUndefined();
      // ... because the client code is in the bundle (matched on text, so the test never prints a megabyte).
      expect(bundle.includes('@smithy/core')).toBe(true);
    }
  });

  function bundleOf(construct: IConstruct): string {
    const { S3Key } = propertiesOf(construct).Code as { S3Key: string };
    return readFileSync(join(assemblyDirectory, `asset.${S3Key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
  }

  it('puts the pages and the API description in the pages function, and neither in the API function', () => {
    // The start of each compressed document, as the generated modules hold it.
    const starts = ['lambdas/api/pages-document.ts', 'lambdas/api/openapi-document.ts'].map((file) => {
      const literal = /=\s*\n?\s*'([A-Za-z0-9+/=]{64})/.exec(readFileSync(join(REPO, file), 'utf8'))?.[1];
      if (!literal) throw new Error(`no compressed document in ${file}`);
      return literal;
    });
    const api = bundleOf(synth.stack.api.function);
    const pages = bundleOf(synth.stack.api.pagesFunction);

    for (const start of starts) {
      expect(pages.includes(start)).toBe(true);
      expect(api.includes(start)).toBe(false);
    }
  });

  it('bundles no AWS SDK into the pages function, and gives it only the common environment', () => {
    const bundle = bundleOf(synth.stack.api.pagesFunction);

    expect(bundle.startsWith('import { createRequire')).toBe(true);
    expect(bundle.includes('@smithy/core')).toBe(false);
    expect(bundle.includes('@aws-sdk/')).toBe(false);
    expect(environmentOf(synth.stack.api.pagesFunction)).toEqual({
      POWERTOOLS_SERVICE_NAME: 'webhooks-pages',
      POWERTOOLS_METRICS_NAMESPACE: 'Webhooks',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      WEBHOOKS_ALLOW_LOOPBACK: 'false',
    });
  });

  /** The API's execute-api host name, as the template spells it. */
  function apiHost(): unknown {
    return {
      'Fn::Join': [
        '',
        [
          { Ref: logicalId(synth.stack.api.httpApi) },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
        ],
      ],
    };
  }

  function environmentOf(construct: IConstruct): Record<string, unknown> {
    return (propertiesOf(construct).Environment as { Variables: Record<string, unknown> }).Variables;
  }

  it('gives the API function exactly the agreed environment', () => {
    const { stack } = synth;

    expect(environmentOf(stack.api.function)).toEqual({
      POWERTOOLS_SERVICE_NAME: 'webhooks-api',
      POWERTOOLS_METRICS_NAMESPACE: 'Webhooks',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      WEBHOOKS_ALLOW_LOOPBACK: 'false',
      WEBHOOKS_RETRY_SCHEDULE: DEFAULT_SCHEDULE,
      WEBHOOKS_MAX_ATTEMPTS: String(DEFAULT_MAX_ATTEMPTS),
      WEBHOOKS_EVENT_CHECK_DELAY_SECONDS: String(EVENT_CHECK_DELAY_SECONDS),
      EVENTS_TABLE: { Ref: logicalId(stack.storage.events) },
      DELIVERIES_TABLE: { Ref: logicalId(stack.storage.deliveries) },
      ATTEMPTS_TABLE: { Ref: logicalId(stack.storage.attempts) },
      ENDPOINTS_TABLE: { Ref: logicalId(stack.storage.endpoints) },
      DELIVERY_QUEUE_URL: { Ref: logicalId(stack.delivery.queue) },
      DEAD_LETTER_QUEUE_URL: { Ref: logicalId(stack.delivery.deadLetterQueue) },
      API_KEYS_SECRET_ID: { Ref: logicalId(stack.apiKeys.apiKeyHashes) },
      PORTAL_KEY_SECRET_ID: { Ref: logicalId(stack.apiKeys.portalSigningKey) },
      ENDPOINT_SECRET_PREFIX: 'webhooks/Webhooks/endpoints',
      WEBHOOKS_BLOCKED_HOSTS: apiHost(),
    });
  });

  it('gives the delivery function exactly the agreed environment', () => {
    const { stack } = synth;

    expect(environmentOf(stack.delivery.function)).toEqual({
      POWERTOOLS_SERVICE_NAME: 'webhooks-delivery',
      POWERTOOLS_METRICS_NAMESPACE: 'Webhooks',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      WEBHOOKS_ALLOW_LOOPBACK: 'false',
      WEBHOOKS_RETRY_SCHEDULE: DEFAULT_SCHEDULE,
      WEBHOOKS_MAX_ATTEMPTS: String(DEFAULT_MAX_ATTEMPTS),
      WEBHOOKS_BREAKER_THRESHOLD: String(DEFAULT_BREAKER_POLICY.failureThreshold),
      WEBHOOKS_BREAKER_OPEN_SECONDS: String(DEFAULT_BREAKER_POLICY.openSeconds),
      WEBHOOKS_DISABLE_AFTER_SECONDS: String(DEFAULT_BREAKER_POLICY.disableAfterSeconds),
      WEBHOOKS_BACKLOG_RELEASE_PER_SECOND: String(DEFAULT_ISOLATION.releasePerSecond),
      WEBHOOKS_SHORT_WAIT_MAX_SECONDS: String(DEFAULT_ISOLATION.shortWaitMaxSeconds),
      EVENTS_TABLE: { Ref: logicalId(stack.storage.events) },
      DELIVERIES_TABLE: { Ref: logicalId(stack.storage.deliveries) },
      ATTEMPTS_TABLE: { Ref: logicalId(stack.storage.attempts) },
      ENDPOINTS_TABLE: { Ref: logicalId(stack.storage.endpoints) },
      DELIVERY_QUEUE_URL: { Ref: logicalId(stack.delivery.queue) },
      DEAD_LETTER_QUEUE_URL: { Ref: logicalId(stack.delivery.deadLetterQueue) },
      WEBHOOKS_OPERATIONAL_EVENT_BUS: 'default',
      WEBHOOKS_OPERATOR_ENDPOINT_ID: '',
      ENDPOINT_SECRET_PREFIX: 'webhooks/Webhooks/endpoints',
      WEBHOOKS_BLOCKED_HOSTS: apiHost(),
    });
  });
});
