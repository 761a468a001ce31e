/**
 * The pages' one way to the API: same origin, the credential (an API key or a portal token)
 * as `Authorization: Bearer`, no cookies, no cache, and every failure as an {@link ApiError}
 * carrying the API's error code and the response's `Trackingid`.
 */

/** A refused or failed request: `status` 0 when the API did not answer at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly trackingId: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiResult<T> {
  readonly status: number;
  readonly body: T;
}

/** The API's base: the page lives at `<base>/<page>`, and on AWS the base may carry a stage path. */
export function apiBase(pageName: string): string {
  return location.pathname.replace(new RegExp(`/${pageName}/?$`), '');
}

export class ApiClient {
  /**
   * @param base what {@link apiBase} found
   * @param credential read at every request, so the page can forget it in between
   */
  constructor(
    private readonly base: string,
    private readonly credential: () => string | null,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.credential() ?? ''}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (error) {
      throw new ApiError(0, 'network_error', `the API did not answer (${String(error)})`, null);
    }
    const trackingId = response.headers.get('trackingid');
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const error = errorOf(parsed);
      throw new ApiError(
        response.status,
        error.code ?? `http_${response.status}`,
        error.message ?? `HTTP ${response.status}`,
        trackingId,
      );
    }
    return { status: response.status, body: parsed as T };
  }

  get<T>(path: string): Promise<ApiResult<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<ApiResult<T>> {
    return this.request<T>('POST', path, body);
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** `{"error": {"code", "message"}}`, as far as the body is one. */
function errorOf(body: unknown): { code?: string; message?: string } {
  if (typeof body !== 'object' || body === null || !('error' in body)) return {};
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return {};
  const { code, message } = error as { code?: unknown; message?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/** A path segment: ids go into paths encoded, whatever they contain. */
export const seg = (id: string): string => encodeURIComponent(id);

/** `?a=1&b=2` of the parameters that have a value (empty when none has). */
export function query(params: Record<string, string | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}
