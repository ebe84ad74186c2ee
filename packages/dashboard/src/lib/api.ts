/** Thin fetch wrapper: bearer token, JSON, and errors a person can read. */

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the aggregator could not be reached at all. */
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get unreachable(): boolean {
    return this.status === 0;
  }
}

const TOKEN_KEY = 'finsecure.token';

/** The fs_csrf cookie set at sign-in (readable on purpose; the session cookie is HttpOnly). */
export function csrfToken(): string {
  const m = /(?:^|;\s*)(?:__Host-)?fs_csrf=([^;]*)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]!) : '';
}

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function request(path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  // Signed in with a session cookie: changes carry the CSRF token (see lib/people.ts).
  else if (init.method && init.method !== 'GET') headers.set('X-CSRF-Token', csrfToken());
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError('The aggregator cannot be reached (network error). Is it running?', 0);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { message?: string };
      if (body.message) message = body.message;
    } catch {
      /* not JSON */
    }
    // A proxy in front of a stopped aggregator answers 502/503/504.
    throw new ApiError(message, res.status >= 502 && res.status <= 504 ? 0 : res.status);
  }
  return res;
}

export async function getJson<T>(path: string, token: string | null): Promise<T> {
  return (await request(path, token)).json() as Promise<T>;
}

export async function postJson<T>(path: string, token: string): Promise<T> {
  // No body and no content-type: the aggregator's control endpoints take none.
  return (await request(path, token, { method: 'POST' })).json() as Promise<T>;
}

/** Sends a JSON body (POST/PUT) and returns the JSON answer; errors carry the aggregator's message. */
export async function sendJson<T>(path: string, token: string, method: 'POST' | 'PUT', body: unknown): Promise<T> {
  return (
    await request(path, token, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  ).json() as Promise<T>;
}

/** Fetches a file that needs the bearer header and hands it to the browser as a download. */
export async function downloadFile(path: string, token: string, filename: string): Promise<void> {
  const blob = await (await request(path, token)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function eventsUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/ws/events`;
}
