// The REST API client of the browser app: every call goes to /api/v1 on this origin,
// authenticated by the session cookie (POST /api/v1/session), with the CSRF header.

const PREFIX = "/api/v1";

/** An error answered by the API: `status` (HTTP) and `type` (the server's error type). */
export class ApiError extends Error {
  constructor(message, status, type) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
  }
}

/**
 * Call the API. `path` is relative to /api/v1 ("/people?limit=60"); `body` an object (sent
 * as JSON) or FormData (sent as is). Returns the parsed JSON (null for 204). On 401 the
 * user is sent to #/login (unless already there); errors throw ApiError with the server's
 * message.
 */
export async function api(method, path, body) {
  const res = await request(method, path, body);
  return res.data;
}

/** Like api(), but returns {data, total, response}: `total` from X-Total-Count (or null). */
export async function apiPage(method, path, body) {
  return request(method, path, body);
}

async function request(method, path, body) {
  const headers = { "X-FaceAtlas-CSRF": "1", Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined && body !== null) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(PREFIX + path, init);
  } catch (err) {
    throw new ApiError("The faceatlas service cannot be reached. Is `faceatlas serve` running?",
                       0, "NetworkError");
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = text; }
    }
  }
  if (!res.ok) {
    const message = (data && data.error && data.error.message) || res.statusText
      || `HTTP ${res.status}`;
    const type = (data && data.error && data.error.type) || "HTTPError";
    if (res.status === 401) who = null;
    if (res.status === 401 && !path.startsWith("/session")) {
      const back = location.hash && !location.hash.startsWith("#/login") ? location.hash : "";
      location.hash = "#/login" + (back ? "?next=" + encodeURIComponent(back) : "");
    }
    throw new ApiError(message, res.status, type);
  }
  const total = res.headers.get("X-Total-Count");
  return { data, total: total === null ? null : Number(total), response: res };
}

/** URL of a face's thumbnail (cached by the browser: ETag + Cache-Control). */
export function thumbUrl(faceId) {
  return `${PREFIX}/faces/${encodeURIComponent(faceId)}/thumbnail`;
}

/**
 * URL of a photo of the library; with `size`, of a JPEG preview whose longer side is at
 * most `size` pixels (photos only, not videos).
 */
export function photoUrl(photoId, size) {
  const url = `${PREFIX}/photos/${encodeURIComponent(photoId)}`;
  return size ? `${url}?size=${encodeURIComponent(size)}` : url;
}

/** Log in with an API key: {name, scope}; sets the session cookie. */
export async function login(key) {
  return api("POST", "/session", { key });
}

/** Log out (ends the session server-side and clears the cookie). */
export async function logout() {
  try {
    await api("DELETE", "/session");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
}

/** Who is logged in ({name, scope, via}), or null. Cached for the page's life. */
let who = null;
export async function session(refresh = false) {
  if (who && !refresh) return who;
  try {
    who = await api("GET", "/session");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { who = null; return null; }
    throw err;
  }
  return who;
}
export function forgetSession() { who = null; }
