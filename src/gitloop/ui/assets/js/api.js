// The UI's only way to the server: JSON calls to /api/v1 and its event stream. Every non-GET sends
// the CSRF token the login cookie pairs with; a 401 sends the browser to the login page.

export class ApiError extends Error {
  constructor(status, message, headers) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.headers = headers || new Headers();
  }
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

function url(path, query) {
  const target = new URL(path.startsWith("/") ? path : `/api/v1/${path}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) target.searchParams.append(key, String(one));
  }
  return target.pathname + target.search;
}

/** The login page's address, coming back to where the browser is now. */
export function loginUrl() {
  const here = location.pathname + location.search;
  return here.startsWith("/ui/login") ? here : `/ui/login?next=${encodeURIComponent(here)}`;
}

async function request(method, path, { query, body, raw = false, redirect = true } = {}) {
  const headers = { Accept: raw ? "text/plain" : "application/json" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = cookie("gitloop.csrf");
    if (body !== undefined) headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(url(path, query), {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) {
    let message = answer.statusText || `HTTP ${answer.status}`;
    try {
      const parsed = await answer.json();
      message = parsed.message || parsed.detail || parsed.error || message;
    } catch { /* not JSON: keep the status text */ }
    if (answer.status === 401 && redirect && !location.pathname.startsWith("/ui/login")) {
      location.assign(loginUrl());
    }
    throw new ApiError(answer.status, message, answer.headers);
  }
  if (raw) return answer.text();
  const text = await answer.text();
  return text ? JSON.parse(text) : {};
}

export const api = {
  get: (path, query, options) => request("GET", path, { query, ...options }),
  post: (path, body, options) => request("POST", path, { body, ...options }),
  put: (path, body, options) => request("PUT", path, { body, ...options }),
  del: (path, query, options) => request("DELETE", path, { query, ...options }),
  text: (path, query, options) => request("GET", path, { query, raw: true, ...options }),
  /** Server-sent events of path (parsed JSON per message) until close() is called; reconnects. */
  events(path, query, onEvent) {
    if (typeof query === "function") { onEvent = query; query = {}; }
    let source = null;
    let closed = false;
    let timer = null;
    const open = () => {
      source = new EventSource(url(path, query), { withCredentials: true });
      source.onmessage = (message) => {
        let data;
        try { data = JSON.parse(message.data); } catch { return; }
        onEvent(data);
      };
      source.onerror = () => {
        if (closed || source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
        timer = setTimeout(open, 2000);
      };
    };
    open();
    return () => { closed = true; clearTimeout(timer); if (source) source.close(); };
  },
};
