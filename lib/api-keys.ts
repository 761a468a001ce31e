import { type CfnElement, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { INITIAL_API_KEY_SECRET_ID_ENV } from '../lambdas/bootstrap-key/contract.ts';
import { ENV } from '../lambdas/core/schema.ts';
import { ignoreRedundantRoleDependency, WebhookFunction } from './webhook-function.ts';

/** What the bootstrap function does with each secret. */
const BOOTSTRAP_ACCESS = {
  // Reads the key document first, so a re-run Create never replaces keys that exist.
  apiKeyHashes: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
  initialApiKey: ['secretsmanager:PutSecretValue'],
} as const satisfies Record<string, readonly string[]>;

/** Two Secrets Manager writes; the default 3 s leaves no room for a cold start and one retry. */
const BOOTSTRAP_TIMEOUT = Duration.seconds(30);

/** Props of {@link ApiKeys}. */
export interface ApiKeysProps {
  /**
   * Name prefix of the two secrets (`<prefix>/hashes`, `<prefix>/initial`). Keep it outside the
   * endpoint secrets' prefix, which the functions may read by wildcard.
   * @default `webhooks/<stackName>/api-keys`
   */
  readonly secretNamePrefix?: string;
}

/**
 * Credentials: the hashes the authorizer checks API keys against, the stack's first key, and the
 * key that signs portal session tokens.
 *
 * A custom resource creates that key once, at the first deploy: the plaintext goes to
 * {@link initialApiKey} for an operator to read, its SHA-256 to {@link apiKeyHashes}. Later
 * deploys leave both alone, so keys change only when an operator changes them.
 */
export class ApiKeys extends Construct {
  /** `{"keys":[{id, sha256, createdAt, scope, name}]}`: the only API key material the functions may read. */
  public readonly apiKeyHashes: secretsmanager.Secret;
  /** The HS256 key that signs portal session tokens (generated at the first deploy, never shown). */
  public readonly portalSigningKey: secretsmanager.Secret;
  /** The first key in plaintext, for operators; no function but the bootstrap can touch it. */
  public readonly initialApiKey: secretsmanager.Secret;
  /**
   * Name of {@link initialApiKey}, as given (the secret's `secretName` attribute is parsed from
   * its ARN at deploy time and would not be a plain string in outputs and descriptions).
   */
  public readonly initialApiKeySecretName: string;

  constructor(scope: Construct, id: string, props: ApiKeysProps = {}) {
    super(scope, id);
    const prefix = props.secretNamePrefix ?? `webhooks/${Stack.of(this).stackName}/api-keys`;

    this.apiKeyHashes = new secretsmanager.Secret(this, 'ApiKeyHashes', {
      secretName: `${prefix}/hashes`,
      description: 'SHA-256 hashes of the API keys (Authorization: Bearer): {"keys":[...]}',
      // A generated value parses as an empty key list (the API refuses every request) until the
      // bootstrap writes the first hash, and CloudFormation never regenerates it on later
      // updates, so deploys cannot overwrite the keys operators add.
      generateSecretString: { secretStringTemplate: '{"keys":[]}', generateStringKey: 'placeholder' },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.initialApiKeySecretName = `${prefix}/initial`;
    this.initialApiKey = new secretsmanager.Secret(this, 'InitialApiKey', {
      secretName: this.initialApiKeySecretName,
      description:
        'The first API key of this stack, in plaintext. Read it once with `aws secretsmanager get-secret-value`.',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.portalSigningKey = new secretsmanager.Secret(this, 'PortalSigningKey', {
      secretName: `${prefix}/portal-signing-key`,
      description: 'Signs the portal session tokens of this stack (HS256); tokens of other stacks fail.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const secret of [this.apiKeyHashes, this.initialApiKey]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'API keys are held by the producers that call the API; rotating one on a schedule would lock ' +
          'them out. Operators create and revoke keys through POST and DELETE /api-keys.',
      });
    }
    Validations.of(this.portalSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the portal signing key ends every open portal session at once; portal links last at ' +
        'most 24 hours, and the key can be replaced by hand (put a new random value) to end them all.',
    });

    const bootstrap = new WebhookFunction(this, 'BootstrapFunction', {
      entry: 'lambdas/bootstrap-key/handler.ts',
      serviceName: 'webhooks-bootstrap-key',
      description: 'Creates the first API key at the first deploy (custom resource)',
      timeout: BOOTSTRAP_TIMEOUT,
    });
    bootstrap.bindSecret(this.apiKeyHashes, ENV.apiKeysSecretId, BOOTSTRAP_ACCESS.apiKeyHashes);
    bootstrap.bindSecret(this.initialApiKey, INITIAL_API_KEY_SECRET_ID_ENV, BOOTSTRAP_ACCESS.initialApiKey);

    const providerLogs = new logs.LogGroup(this, 'ProviderLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role: the provider's default one carries AWSLambdaBasicExecutionRole (every log group).
    const providerRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom resource provider framework of the initial API key',
    });
    providerLogs.grantWrite(providerRole);
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: bootstrap,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    // The provider's framework function has our role too, hence the same duplicate DependsOn.
    ignoreRedundantRoleDependency(provider.node.findChild('framework-onEvent') as lambda.IFunction);
    const bootstrapLogicalId = Stack.of(this).getLogicalId(bootstrap.node.defaultChild as CfnElement);
    Validations.of(providerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bootstrapLogicalId}.Arn>:*]`,
      reason:
        'The CDK provider framework invokes the bootstrap function; grantInvoke adds its ARN with ":*" ' +
        'so that any version or alias of that one function may be invoked.',
    });

    new CustomResource(this, 'InitialKey', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::InitialApiKey',
    });
  }
}
