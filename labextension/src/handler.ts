import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ErrorCode, IErrorBody, IPage } from './models';

/** Path of the REST API below the server's base URL. */
export const API_PATH = 'labcycle/api/v1';

/**
 * An error answered by the LabCycle REST API, or a failure to reach it.
 *
 * `message` is the server's own message when there is one, so the UI can show
 * it as is; `status` is 0 when the server could not be reached at all.
 */
export class LabCycleAPIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: ErrorCode | 'network' | 'http',
    readonly details: Record<string, unknown> | null = null
  ) {
    super(message);
    this.name = 'LabCycleAPIError';
  }

  /** True when the route does not exist: the server extension is missing. */
  get isNotFound(): boolean {
    return this.status === 404;
  }

  /** Build the error from an answer that is not ok. */
  static async fromResponse(response: Response): Promise<LabCycleAPIError> {
    let text = '';
    try {
      text = await response.text();
    } catch {
      // The body could not be read: fall back to the status line below.
    }
    const body = parseJSON(text) as Partial<IErrorBody> | undefined;
    const error = body?.error;
    if (error && typeof error.message === 'string') {
      return new LabCycleAPIError(
        error.message,
        response.status,
        error.code ?? 'http',
        (error.details as Record<string, unknown>) ?? null
      );
    }
    // Not a LabCycle error body: a Tornado error page, a proxy, a missing route.
    const fallback = (body as { message?: unknown } | undefined)?.message;
    const message =
      typeof fallback === 'string' && fallback
        ? fallback
        : `${response.status} ${response.statusText || 'HTTP error'}`.trim();
    return new LabCycleAPIError(message, response.status, 'http');
  }
}

/**
 * The URL of an API endpoint, e.g. `runs?experiment_id=…`.
 *
 * @param endpoint path below the API root, already encoded
 * @param query query parameters; arrays repeat the key, null/undefined are left out
 * @param settings server settings; the default ones when omitted
 */
export function apiUrl(
  endpoint: string,
  query: Record<string, QueryValue> = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  return URLExt.join(settings.baseUrl, API_PATH, endpoint) + queryString(query);
}

export type QueryValue =
  string | number | boolean | null | undefined | ReadonlyArray<string | number>;

/**
 * Call the LabCycle REST API and return the raw response (for downloads).
 *
 * @throws {LabCycleAPIError} when the server answers an error or cannot be reached
 */
export async function requestRaw(
  endpoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  query: Record<string, QueryValue> = {}
): Promise<Response> {
  const url = apiUrl(endpoint, query, settings);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LabCycleAPIError(
      `Cannot reach the Jupyter server: ${reason}`,
      0,
      'network'
    );
  }
  if (!response.ok) {
    throw await LabCycleAPIError.fromResponse(response);
  }
  return response;
}

/**
 * Call the LabCycle REST API and decode its JSON answer.
 *
 * @param endpoint path below `labcycle/api/v1/`, e.g. `runs/abc/metrics/loss`
 * @param init fetch options; a JSON body is sent as is
 * @param settings server settings; the default ones when omitted
 * @param query query parameters appended to the URL
 * @returns the decoded JSON, or `undefined` for an empty answer (204)
 * @throws {LabCycleAPIError} carrying the server's `error.message`
 */
export async function requestAPI<T>(
  endpoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  query: Record<string, QueryValue> = {}
): Promise<T> {
  const response = await requestRaw(endpoint, init, settings, query);
  const text = await response.text();
  if (!text) {
    return undefined as T;
  }
  const data = parseJSON(text);
  if (data === undefined) {
    throw new LabCycleAPIError(
      `The server answered ${endpoint} with something that is not JSON.`,
      response.status,
      'http'
    );
  }
  return data as T;
}

/**
 * GET an API endpoint with `query` and decode its JSON answer.
 *
 * @throws {LabCycleAPIError} carrying the server's `error.message`
 */
export function getAPI<T>(
  endpoint: string,
  query: Record<string, QueryValue>,
  settings: ServerConnection.ISettings
): Promise<T> {
  return requestAPI<T>(endpoint, { method: 'GET' }, settings, query);
}

/**
 * Call the API with `method`, sending `body` (when given) as JSON.
 *
 * @throws {LabCycleAPIError} carrying the server's `error.message`
 */
export function sendAPI<T>(
  method: string,
  endpoint: string,
  body: unknown,
  settings: ServerConnection.ISettings
): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  return requestAPI<T>(endpoint, init, settings);
}

/**
 * GET a paged list, following `next_page_token` until it ends or `limit` items
 * are read (`max_results` is set per page); `truncated` when more were left.
 */
export async function listPages<T>(
  endpoint: string,
  query: Record<string, QueryValue>,
  limit: number,
  settings: ServerConnection.ISettings,
  /** Start after the page that returned this token (default: at the first page). */
  start: string | null = null
): Promise<{ items: T[]; truncated: boolean; nextPageToken: string | null }> {
  const items: T[] = [];
  let token: string | null = start;
  do {
    const page: IPage<T> = await getAPI<IPage<T>>(
      endpoint,
      {
        ...query,
        max_results: Math.min(limit - items.length, 1000),
        page_token: token ?? undefined
      },
      settings
    );
    items.push(...page.items);
    token = page.next_page_token;
  } while (token && items.length < limit);
  return {
    items: items.slice(0, limit),
    truncated: Boolean(token),
    nextPageToken: token
  };
}

/** Encode each segment of a slash-separated path (artifact paths, keys). */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter(part => part.length > 0)
    .map(encodeURIComponent)
    .join('/');
}

function queryString(query: Record<string, QueryValue>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') {
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      parts.push(
        `${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`
      );
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function parseJSON(text: string): unknown {
  if (!text) {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
