/**
 * The HTTP API as the CLI calls it: `Authorization: Bearer <key>` on every request, JSON both ways, and the
 * API's `{"error": {"code", "message"}}` turned into an {@link ApiError}.
 */
import { CliError, networkCode } from './errors.ts';

/** Longest the CLI waits for one API answer. */
export const API_TIMEOUT_MS = 30_000;

/** An error answer of the API; its one-line message shows the code and the API's words. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly trackingId: string | undefined,
  ) {
    super(`${code} (HTTP ${status}): ${detail}${trackingId ? ` [Trackingid ${trackingId}]` : ''}`);
    this.name = 'ApiError';
  }
}

export interface ApiResult<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface RequestOptions {
  readonly query?: Record<string, string | number | undefined>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface ApiClientOptions {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Appended to "cannot reach the API" messages. */
  readonly unreachableHint?: string;
}

export class ApiClient {
  private readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: () => Promise<string>,
    private readonly options: ApiClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** Sends one request; resolves with a 2xx answer, throws {@link ApiError} or {@link CliError}. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResult<T>> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${await this.apiKey()}`,
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const timeoutMs = this.options.timeoutMs ?? API_TIMEOUT_MS;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw this.unreachable(error, timeoutMs);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const trackingId = response.headers.get('trackingid') ?? undefined;
    if (!response.ok) {
      const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      // API Gateway's own refusals (throttling, a missing route) are `{"message": "..."}`.
      const gatewayMessage = (body as { message?: unknown } | undefined)?.message;
      throw new ApiError(
        response.status,
        typeof error?.code === 'string' ? error.code : `http_${response.status}`,
        typeof error?.message === 'string'
          ? error.message
          : typeof gatewayMessage === 'string'
            ? gatewayMessage
            : text.slice(0, 200).trim() || response.statusText || 'no details',
        trackingId,
      );
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  private unreachable(error: unknown, timeoutMs: number): CliError {
    const hint = this.options.unreachableHint ? `: ${this.options.unreachableHint}` : '';
    if ((error as Error).name === 'TimeoutError') {
      return new CliError(`the API at ${this.baseUrl} did not answer within ${timeoutMs / 1000} s${hint}`);
    }
    const code = networkCode(error);
    // fetch says only "fetch failed"; the cause says why.
    const cause = (error as { cause?: { message?: unknown } }).cause;
    const reason =
      code ??
      (typeof cause?.message === 'string' ? cause.message : (error as Error).message || 'network error');
    return new CliError(`cannot reach the API at ${this.baseUrl} (${reason})${hint}`);
  }
}
