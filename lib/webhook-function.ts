import { fileURLToPath } from 'node:url';
import { ArnFormat, type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../lambdas/core/schema.ts';

/** Repository root: entries and the lock file are resolved from here, whatever the working directory. */
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** CloudWatch namespace of the embedded-metric-format metrics every function emits. */
export const METRICS_NAMESPACE = 'Webhooks';

/** DynamoDB actions that also apply to a table's secondary indexes. */
const INDEX_ACTIONS: ReadonlySet<string> = new Set(['dynamodb:Query', 'dynamodb:Scan']);

/**
 * ESM bundles run in Node's ESM loader, where `require` does not exist; a CommonJS dependency
 * bundled into one still calls it for Node built-ins, so we give it one.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __webhooksCreateRequire } from 'node:module'; const require = __webhooksCreateRequire(import.meta.url);";

/**
 * Imports the bundles resolve to our own files instead (esbuild `--alias`; paths relative to the
 * repository root, where CDK runs esbuild). bench/sections/bundles.ts reads this object as text.
 *
 * - The SDK's default credential chain becomes environment credentials only, which is where
 *   Lambda puts the execution role's. The chain's other links (SSO, INI files, web identity,
 *   metadata services, and the STS and SSO clients they carry) cannot answer in Lambda and were
 *   a quarter of each bundle. A missing credential fails with
 *   `EnvironmentCredentialsMissingError`, which says so (lambdas/adapters/env-credentials.ts).
 * - The SDK's event-stream codec, which none of our clients' operations use, becomes a stub
 *   that throws if one ever does (lambdas/adapters/no-event-streams.ts).
 * - mnemonist's LRU cache, under the DynamoDB client's endpoint-discovery cache, becomes a
 *   `Map`-based one with the same behaviour (lambdas/adapters/lru-cache.ts): 7 KB less.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/adapters/env-credentials.ts',
  '@smithy/core/event-streams': './lambdas/adapters/no-event-streams.ts',
  'mnemonist/lru-cache': './lambdas/adapters/lru-cache.ts',
};

/** Props of {@link WebhookFunction}. */
export interface WebhookFunctionProps {
  /** Handler entry file, relative to the repository root, e.g. `lambdas/delivery/handler.ts`. */
  readonly entry: string;
  /** Powertools service name; also the `service` dimension of the function's metrics. */
  readonly serviceName: string;
  /** Function timeout. Required: every function states its own deadline. */
  readonly timeout: Duration;
  /** What the function does, shown in the console. @default - none */
  readonly description?: string;
  /** Memory in MiB (CPU scales with it). @default 256 */
  readonly memorySize?: number;
  /** Extra environment variables. Resources are bound with the `bind*()` methods instead. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * The one way this app builds a Lambda function: Node.js 22 on arm64, X-Ray tracing, a log group
 * kept one month, an esbuild ESM bundle that carries its own pinned AWS SDK clients, and a role
 * that holds nothing but what the `bind*()` methods grant. Each `bind*()` call sets the
 * environment variable that names a resource and grants exactly the listed actions on it, so
 * a function's configuration and its permissions cannot drift apart.
 *
 * The log group and role are siblings of the function (`<id>Logs`, `<id>Role`): both must exist
 * before `super()`, when `this` cannot yet be their scope.
 */
export class WebhookFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: WebhookFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      // Logs expire after a month anyway; deleting the stack should not leave them behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole, whose logs grant covers every log group.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: `${REPO_ROOT}${props.entry}`,
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 256,
      logGroup,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // The log level lambdas/adapters/telemetry.ts reads (as Powertools would); DEBUG to investigate.
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // Deployed functions never deliver to loopback receivers; only local mode sets this to "true".
        [ENV.allowLoopback]: 'false',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: false,
        target: 'node22',
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // Bundle the SDK v3 clients from package-lock.json rather than use the runtime's copy,
        // so the versions we test are the versions that run.
        externalModules: [],
        esbuildArgs: {
          '--alias': Object.entries(BUNDLE_ALIASES).map(([from, to]) => `${from}=${to}`),
        },
        logLevel: LogLevel.WARNING,
      },
    });
    ignoreRedundantRoleDependency(this);

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22 (LTS), the version the bundles target (esbuild node22) and the tests run; ' +
        'moving to a newer runtime is a deliberate, tested upgrade rather than a side effect of a CDK bump.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
        'resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html).',
    });
  }

  /**
   * Sets `envVar` to the table's name and grants exactly `actions` on the table. Actions that
   * DynamoDB also authorises on indexes (Query, Scan) are granted on each index in `indexNames`
   * too, by name: no `index/*` wildcard.
   */
  public bindTable(
    table: dynamodb.ITable,
    envVar: string,
    actions: readonly string[],
    indexNames: readonly string[] = [],
  ): void {
    this.addEnvironment(envVar, table.tableName);
    // No actions: the function only names the table (for an index query granted separately).
    if (actions.length > 0) {
      iam.Grant.addToPrincipal({ grantee: this, actions: [...actions], resourceArns: [table.tableArn] });
    }
    const indexActions = actions.filter((action) => INDEX_ACTIONS.has(action));
    if (indexActions.length > 0 && indexNames.length > 0) {
      iam.Grant.addToPrincipal({
        grantee: this,
        actions: indexActions,
        resourceArns: indexNames.map((indexName) => `${table.tableArn}/index/${indexName}`),
      });
    }
  }

  /**
   * Grants Query on the named indexes of a table only, not on the table itself (for a function
   * that reads an index and then each item by key). Bind the table with {@link bindTable} too.
   */
  public grantIndexQuery(table: dynamodb.ITable, indexNames: readonly string[]): void {
    iam.Grant.addToPrincipal({
      grantee: this,
      actions: ['dynamodb:Query'],
      resourceArns: indexNames.map((indexName) => `${table.tableArn}/index/${indexName}`),
    });
  }

  /** Sets `envVar` to the queue's URL and grants exactly `actions` on the queue. */
  public bindQueue(queue: sqs.IQueue, envVar: string, actions: readonly string[]): void {
    this.addEnvironment(envVar, queue.queueUrl);
    queue.grant(this, ...actions);
  }

  /** Sets `envVar` to the secret's ARN and grants exactly `actions` on that secret. */
  public bindSecret(secret: secretsmanager.ISecret, envVar: string, actions: readonly string[]): void {
    this.addEnvironment(envVar, secret.secretArn);
    iam.Grant.addToPrincipal({ grantee: this, actions: [...actions], resourceArns: [secret.secretArn] });
  }

  /**
   * Sets `envVar` to a secret name prefix and grants exactly `actions` on every secret named
   * `<prefix>/...`, for secrets the function creates at run time (one per endpoint).
   */
  public bindSecretPrefix(prefix: string, envVar: string, actions: readonly string[]): void {
    this.addEnvironment(envVar, prefix);
    iam.Grant.addToPrincipal({
      grantee: this,
      actions: [...actions],
      resourceArns: [secretArnPattern(this, prefix)],
    });
    Validations.of(this.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}/*]`,
      reason:
        `Endpoint signing secrets are created at run time, one per endpoint, each named ${prefix}/<endpointId>; ` +
        'the grant covers only that name prefix of this stack.',
    });
  }
}

/**
 * Lambda's L2 makes each function DependsOn its role and the role's default policy, so the
 * policy is in place before the first invocation. The role half duplicates the `Role` GetAtt,
 * which cfn-lint reports as W3005; the duplicate is harmless, and we silence it on this one
 * resource only, in the template itself, so a bare `cfn-lint` run stays clean.
 */
export function ignoreRedundantRoleDependency(fn: lambda.IFunction): void {
  const resource = fn.node.defaultChild as lambda.CfnFunction;
  resource.addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
}

/** ARN pattern matching every secret whose name starts with `<prefix>/`. */
export function secretArnPattern(scope: Construct, prefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${prefix}/*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
