/**
 * AWS SDK middleware the benchmark attaches to the product's clients
 * (lambdas/adapters/clients.ts), as test/support/harness.ts does:
 *
 * - {@link recordCommands} sees every command once (at the `build` step, after the document
 *   client has marshalled its input, so DynamoDB items arrive as AttributeValues whose types,
 *   and so whose sizes, are known), with its output and timings.
 * - {@link fakeTransport} replaces only the network round trip: it sits innermost, below the
 *   deserializer, so serialization, SigV4 signing and response parsing all run as on AWS,
 *   and answers each request after a fixed delay with a canned HTTP response.
 */
import { createHash } from 'node:crypto';

/** One command as a product handler sent it. */
export interface SdkCall {
  /** e.g. `DynamoDBClient`, `SQSClient`, `SecretsManagerClient`. */
  readonly client: string;
  /** e.g. `PutItemCommand`. */
  readonly command: string;
  /** The command input (DynamoDB: marshalled AttributeValues). */
  readonly input: Record<string, unknown>;
  /** The command output (DynamoDB document commands: already unmarshalled). */
  output?: Record<string, unknown>;
  readonly startedAt: number;
  endedAt?: number;
}

type Handler = (args: Record<string, unknown>) => Promise<Record<string, unknown>>;
type Context = { commandName?: string; clientName?: string };
interface MiddlewareStack {
  add(
    middleware: (next: Handler, context: Context) => Handler,
    options: { step: string; name: string; priority?: 'high' | 'normal' | 'low' },
  ): void;
}
/** Any AWS SDK v3 client. */
export interface AnyClient {
  readonly middlewareStack: unknown;
}

const stackOf = (client: AnyClient): MiddlewareStack => client.middlewareStack as MiddlewareStack;

/**
 * Calls `onStart` as each command starts (return false to skip recording it) and fills in
 * its output and end time when it finishes.
 */
export function recordCommands(clients: readonly AnyClient[], onStart: (call: SdkCall) => boolean): void {
  for (const client of clients) {
    stackOf(client).add(
      (next, context) => async (args) => {
        const call: SdkCall = {
          client: String(context.clientName),
          command: String(context.commandName),
          input: args.input as Record<string, unknown>,
          startedAt: performance.timeOrigin + performance.now(),
        };
        const keep = onStart(call);
        const result = await next(args);
        if (keep) {
          call.output = result.output as Record<string, unknown>;
          call.endedAt = performance.timeOrigin + performance.now();
        }
        return result;
      },
      { step: 'build', name: 'benchRecordCommands' },
    );
  }
}

/** What the fake answers for one operation: the JSON body of the HTTP response. */
export type FakeResponder = (operation: string, requestBody: Record<string, unknown>) => unknown;

/**
 * Answers every request of `clients` after `latencyMs` (a real timer) with the JSON that
 * `respond` returns for its operation (taken from `X-Amz-Target`, e.g. `PutItem`).
 * Returns a counter of the requests answered, per operation.
 */
export function fakeTransport(
  clients: readonly AnyClient[],
  latencyMs: number,
  respond: FakeResponder,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const client of clients) {
    stackOf(client).add(
      () => async (args) => {
        const request = args.request as { headers: Record<string, string>; body?: string | Uint8Array };
        const target = request.headers['x-amz-target'] ?? '';
        const operation = target.slice(target.lastIndexOf('.') + 1);
        counts.set(operation, (counts.get(operation) ?? 0) + 1);
        const text = bodyText(request.body);
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        const answer = respond(operation, body);
        await new Promise((resolve) => setTimeout(resolve, latencyMs));
        const bytes = Buffer.from(JSON.stringify(answer ?? {}));
        return {
          response: {
            statusCode: 200,
            reason: 'OK',
            headers: {
              'content-type': 'application/x-amz-json-1.0',
              'content-length': String(bytes.length),
              'x-amzn-requestid': 'bench',
            },
            body: bytes,
          },
        };
      },
      // Innermost: below the deserializer, where the HTTP handler would be called.
      { step: 'deserialize', name: 'benchFakeTransport', priority: 'low' },
    );
  }
  return counts;
}

/** The request body as text (the SDK's JSON codec hands over bytes). */
function bodyText(body: string | Uint8Array | undefined): string {
  if (body === undefined || typeof body === 'string') return body ?? '';
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/** Hex MD5, as SQS reports it for message bodies (the SDK checks it). */
export const md5Hex = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');
