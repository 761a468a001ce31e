/**
 * What the CDK stack and the bootstrap-key handler agree on. Pure data: the stack imports this
 * without pulling the handler's AWS SDK client into the CDK app.
 */

/** Environment variable holding the ARN of the secret that receives the first key in plaintext. */
export const INITIAL_API_KEY_SECRET_ID_ENV = 'INITIAL_API_KEY_SECRET_ID';

/** Id of the first key in the key document (shown in logs when a request uses it). */
export const INITIAL_API_KEY_ID = 'key_initial';

/** Physical id of the custom resource: one per stack, never replaced. */
export const INITIAL_API_KEY_RESOURCE_ID = 'initial-api-key';
