import {
  ArnFormat,
  type CfnElement,
  CustomResource,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { ENDPOINTS_TABLE, ENV } from '../lambdas/core/schema.ts';
import {
  HEARTBEAT_ENDPOINT_ID,
  HEARTBEAT_ENV,
  HEARTBEAT_SERVICE_NAMES,
  HEARTBEAT_SETUP_PROPERTIES,
  HEARTBEAT_VERIFIED_METRIC,
} from '../lambdas/heartbeat/contract.ts';
import { ignoreRedundantRoleDependency, METRICS_NAMESPACE, WebhookFunction } from './webhook-function.ts';

/**
 * AWS calls each heartbeat function makes, per resource. test/cdk/heartbeat.test.ts holds the
 * template to exactly these: change them together with lambdas/heartbeat.
 */
export const HEARTBEAT_ACCESS = {
  sender: {
    // Reads its own key, nothing else.
    keySecret: ['secretsmanager:GetSecretValue'],
  },
  receiver: {
    // Reads the heartbeat endpoint's signing secret, nothing else.
    endpointSecret: ['secretsmanager:GetSecretValue'],
  },
  setup: {
    // Reads the key document to add (or on Delete remove) its own key beside the others.
    apiKeyHashes: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
    keySecret: ['secretsmanager:PutSecretValue'],
    // The tenant record and the endpoint (putTenant reads before it writes; Update re-points the URL).
    endpoints: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    endpointSecret: ['secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret'],
  },
} as const satisfies Record<string, Record<string, readonly string[]>>;

/** How often a heartbeat is sent. */
export const HEARTBEAT_INTERVAL = Duration.minutes(1);

/** Minutes without a verified heartbeat after which the alarm fires. */
export const HEARTBEAT_ALARM_MINUTES = 5;

/** Context key of the stack setting: `npx cdk deploy -c heartbeat=false` turns the check off. */
export const HEARTBEAT_CONTEXT_KEY = 'heartbeat';

/**
 * Whether the stack gets the heartbeat: the prop when given, else the `heartbeat` context value
 * (`false`, as a boolean or the string the CLI passes, turns it off), else on. Local mode does not
 * build the stack, so it never runs one.
 */
export function heartbeatEnabled(scope: Construct, prop?: boolean): boolean {
  if (prop !== undefined) return prop;
  const context: unknown = scope.node.tryGetContext(HEARTBEAT_CONTEXT_KEY);
  return !(context === false || context === 'false');
}

/** Props of {@link Heartbeat}. */
export interface HeartbeatProps {
  /** Base URL of the stack's API (`ApiUrl`); the sender posts to `<apiUrl>/events`. */
  readonly apiUrl: string;
  /** The API key document, where the setup adds the heartbeat's send-only key. */
  readonly apiKeyHashes: secretsmanager.ISecret;
  /**
   * What writes the first key into that document (the ApiKeys construct): the setup waits for it,
   * so that the two never write the document at once.
   */
  readonly apiKeysWriter: IConstruct;
  /** The Endpoints table, where the setup writes the heartbeat's tenant and endpoint. */
  readonly endpoints: dynamodb.ITable;
  /** Name prefix of the endpoint signing secrets (`<prefix>/<endpointId>`). */
  readonly endpointSecretPrefix: string;
  /** Topic the alarm notifies, on ALARM and on OK. @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The synthetic delivery check: every minute a sender posts a heartbeat event through the public
 * API with its own send-only key; the stack delivers it, like any event, to a receiver the stack
 * owns behind its own Function URL, which verifies the signature and counts it; an alarm fires
 * when no verified heartbeat arrived for {@link HEARTBEAT_ALARM_MINUTES} minutes. A custom
 * resource makes the key, the tenant `webhooks-heartbeat` and the receiver's endpoint at deploy.
 */
export class Heartbeat extends Construct {
  /** The send-only key in plaintext; only the sender reads it. */
  public readonly keySecret: secretsmanager.Secret;
  /** Posts one heartbeat per run. */
  public readonly sender: WebhookFunction;
  /** Runs the sender every {@link HEARTBEAT_INTERVAL}. */
  public readonly schedule: events.Rule;
  /** Verifies and counts the heartbeats delivered to it. */
  public readonly receiver: WebhookFunction;
  /** The receiver's public URL, the heartbeat endpoint's `url`. */
  public readonly receiverUrl: lambda.FunctionUrl;
  /** Writes the key, tenant and endpoint (custom resource handler). */
  public readonly setup: WebhookFunction;
  /** No verified heartbeat for {@link HEARTBEAT_ALARM_MINUTES} minutes. */
  public readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: HeartbeatProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const endpointSecretName = `${props.endpointSecretPrefix}/${HEARTBEAT_ENDPOINT_ID}`;
    // Secrets Manager appends six random characters to a secret's name in its ARN.
    const endpointSecretArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${endpointSecretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.keySecret = new secretsmanager.Secret(this, 'KeySecret', {
      secretName: `webhooks/${stack.stackName}/heartbeat/key`,
      description:
        'Send-only API key of the synthetic delivery check (written at deploy; the sender reads it)',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.keySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The heartbeat key is replaced whenever the setup resource is re-created; a scheduled rotation ' +
        'would need a second copy of that logic for a key that only our own sender holds.',
    });

    // The receiver: public, as every customer's receiver is, and it verifies before it counts.
    this.receiver = new WebhookFunction(this, 'Receiver', {
      entry: 'lambdas/heartbeat/receiver.ts',
      serviceName: HEARTBEAT_SERVICE_NAMES.receiver,
      description: 'Verifies the heartbeats delivered to it (Standard Webhooks) and counts them',
      timeout: Duration.seconds(10),
      environment: { [HEARTBEAT_ENV.endpointSecretName]: endpointSecretName },
    });
    iam.Grant.addToPrincipal({
      grantee: this.receiver,
      actions: [...HEARTBEAT_ACCESS.receiver.endpointSecret],
      resourceArns: [endpointSecretArn],
    });
    // Auth NONE: the delivery worker calls it like any receiver, authenticated by the signature.
    this.receiverUrl = this.receiver.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    // The setup: key, tenant and endpoint, once per deploy of this construct.
    this.setup = new WebhookFunction(this, 'SetupFunction', {
      entry: 'lambdas/heartbeat/setup.ts',
      serviceName: HEARTBEAT_SERVICE_NAMES.setup,
      description: 'Creates the heartbeat key, tenant and endpoint at deploy (custom resource)',
      timeout: Duration.seconds(60),
    });
    this.setup.bindSecret(props.apiKeyHashes, ENV.apiKeysSecretId, HEARTBEAT_ACCESS.setup.apiKeyHashes);
    this.setup.bindSecret(this.keySecret, HEARTBEAT_ENV.keySecretId, HEARTBEAT_ACCESS.setup.keySecret);
    this.setup.bindTable(props.endpoints, ENDPOINTS_TABLE.envVar, HEARTBEAT_ACCESS.setup.endpoints);
    this.setup.addEnvironment(ENV.endpointSecretPrefix, props.endpointSecretPrefix);
    iam.Grant.addToPrincipal({
      grantee: this.setup,
      actions: [...HEARTBEAT_ACCESS.setup.endpointSecret],
      resourceArns: [endpointSecretArn],
    });
    const setupResource = this.customResource(this.receiverUrl.url);
    // The first key's writer goes first: both read, extend and write the same key document.
    setupResource.node.addDependency(props.apiKeysWriter);

    // The sender, every minute; nothing retries a failed heartbeat but the next one.
    this.sender = new WebhookFunction(this, 'Sender', {
      entry: 'lambdas/heartbeat/sender.ts',
      serviceName: HEARTBEAT_SERVICE_NAMES.sender,
      description: 'Sends one heartbeat event through the public API (synthetic delivery check)',
      timeout: Duration.seconds(15),
      environment: { [HEARTBEAT_ENV.apiUrl]: props.apiUrl },
    });
    this.sender.bindSecret(this.keySecret, HEARTBEAT_ENV.keySecretId, HEARTBEAT_ACCESS.sender.keySecret);
    this.sender.configureAsyncInvoke({ retryAttempts: 0 });
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Sends a heartbeat through the public API (synthetic delivery check)',
      schedule: events.Schedule.rate(HEARTBEAT_INTERVAL),
    });
    this.schedule.addTarget(new targets.LambdaFunction(this.sender, { retryAttempts: 0 }));
    // No heartbeat before its key and endpoint exist.
    this.schedule.node.addDependency(setupResource);

    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription:
        `No verified heartbeat for ${HEARTBEAT_ALARM_MINUTES} minutes: events sent through the API are not ` +
        'reaching a receiver signed (API, queue, delivery function or signing broken). See docs/heartbeat.md.',
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: HEARTBEAT_VERIFIED_METRIC,
        dimensionsMap: { service: HEARTBEAT_SERVICE_NAMES.receiver },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: HEARTBEAT_ALARM_MINUTES,
      datapointsToAlarm: HEARTBEAT_ALARM_MINUTES,
      // No data is the failure itself: a receiver that hears nothing publishes nothing.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    if (props.alarmTopic) {
      const notify = new SnsAction(props.alarmTopic);
      this.alarm.addAlarmAction(notify);
      this.alarm.addOkAction(notify);
    }
  }

  /** The custom resource (and its provider framework, with a role of our own) that runs the setup. */
  private customResource(receiverUrl: string): CustomResource {
    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role: the provider's default one carries AWSLambdaBasicExecutionRole (every log group).
    const providerRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom resource provider framework of the heartbeat setup',
    });
    providerLogs.grantWrite(providerRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.setup,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    ignoreRedundantRoleDependency(provider.node.findChild('framework-onEvent') as lambda.IFunction);
    const setupLogicalId = Stack.of(this).getLogicalId(this.setup.node.defaultChild as CfnElement);
    Validations.of(providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${setupLogicalId}.Arn>:*]`,
      reason:
        'The CDK provider framework invokes the heartbeat setup function; grantInvoke adds its ARN with ":*" ' +
        'so that any version or alias of that one function may be invoked.',
    });
    return new CustomResource(this, 'Setup', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::Heartbeat',
      properties: { [HEARTBEAT_SETUP_PROPERTIES.receiverUrl]: receiverUrl },
    });
  }
}
