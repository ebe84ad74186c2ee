/** fetch with JSON, the CSRF header on changes, and errors a person can read. */

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the console could not be reached. */
    readonly status: number,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The fsb_csrf cookie set at sign-in (readable on purpose; the session cookie is HttpOnly). */
export function csrfToken(): string {
  const m = /(?:^|;\s*)(?:__Host-)?fsb_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

let sessionEnded: (() => void) | null = null;

/**
 * Called when a request outside sign-in is answered 401: the session ended (idle timeout, signed
 * out in another tab, ended by an admin). The app goes back to the sign-in form instead of leaving
 * every page to say "sign in first" under a header that still names the person.
 */
export function onSessionEnded(listener: (() => void) | null): void {
  sessionEnded = listener;
}

async function send(method: string, path: string, body?: BodyInit, type?: string): Promise<Response> {
  const headers = new Headers();
  if (method !== 'GET') headers.set('X-CSRF-Token', csrfToken());
  if (type) headers.set('content-type', type);
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  } catch {
    throw new ApiError('The bank console cannot be reached (network error). Is the bank daemon running?', 0);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = (await res.json()) as Record<string, unknown>;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      /* not JSON */
    }
    if (res.status === 401 && !path.startsWith('/api/auth/')) sessionEnded?.();
    throw new ApiError(message, res.status, parsed);
  }
  return res;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<T> {
  const res = await send(
    method,
    path,
    body === undefined ? undefined : JSON.stringify(body),
    body === undefined ? undefined : 'application/json',
  );
  return (await res.json()) as T;
}

/** Multipart upload of one file (field "file"). */
export async function uploadFile<T>(path: string, file: File): Promise<T> {
  const form = new FormData();
  form.append('file', file, file.name);
  return (await (await send('POST', path, form)).json()) as T;
}
