/**
 * What the Lambda bundles get instead of `@aws-sdk/credential-provider-node`: lib/webhook-function.ts
 * aliases that package to this file, so every SDK client's default credential provider reads the
 * environment and nothing else.
 *
 * Lambda puts the execution role's credentials in the environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), valid for the whole life of the execution
 * environment; the default chain would find them first anyway. Its other links (SSO, INI and
 * credential-process files, web identity, the console login provider, container and instance
 * metadata, and the STS and SSO clients they pull in) can never answer in Lambda, yet they were
 * over a third of each bundle. Tests and local mode run the TypeScript sources, not the bundles,
 * and keep the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type EnvProvider = ReturnType<typeof fromEnv>;

/**
 * No credentials in the environment. The name alone says what is wrong, for logs that record an
 * error's class and never its text (the API's).
 */
export class EnvironmentCredentialsMissingError extends Error {
  override readonly name = 'EnvironmentCredentialsMissingError';
  constructor(options?: ErrorOptions) {
    super(
      'No AWS credentials in the environment: this bundle reads only AWS_ACCESS_KEY_ID, ' +
        'AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which Lambda sets from the execution role ' +
        '(no profile, config file, SSO or metadata service is consulted; see lib/webhook-function.ts)',
      options,
    );
  }
}

/**
 * Same name and call shape as the package it replaces (the SDK clients call
 * `defaultProvider(clientConfig)` once each and call the result before signing each request).
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): EnvProvider => {
  const provider = fromEnv(init);
  return async () => {
    try {
      return await provider();
    } catch (error) {
      throw new EnvironmentCredentialsMissingError({ cause: error });
    }
  };
};
