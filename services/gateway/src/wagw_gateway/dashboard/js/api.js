// The public HTTP API (/api/v1), and the access token of the signed-in user.
// The token lives in sessionStorage: it survives a reload of this tab and ends with it.

const TOKEN_KEY = "wagw.token";
const REFRESH_KEY = "wagw.refresh"; // when the gateway issues refresh tokens: renews the access token
let config = { api_base: "/api/v1", realtime_url: "" };
const signedOutListeners = [];

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `request failed (${status})`);
    this.status = status;
    this.code = error.code || "error";
    this.details = error.details || null;
  }
}

export async function loadConfig() {
  const response = await fetch("config.json", { headers: { accept: "application/json" } });
  config = await response.json();
  return config;
}

export function realtimeUrl() {
  return config.realtime_url;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function onSignedOut(listener) {
  signedOutListeners.push(listener);
}

function keep(pair) {
  sessionStorage.setItem(TOKEN_KEY, pair.access_token);
  if (pair.refresh_token) sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
}

export function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
  for (const listener of signedOutListeners) listener(reason);
}

// A fresh access token from the refresh token, once at a time (a refresh token is single use).
let refreshing = null;
export function refreshToken() {
  const spent = sessionStorage.getItem(REFRESH_KEY);
  if (!spent) return Promise.resolve(false);
  refreshing ||= request("POST", "/auth/refresh", { body: { refresh_token: spent }, auth: false, retry: false })
    .then((pair) => { keep(pair); return true; }, () => false)
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function logOut() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (refresh) {
    try { await request("POST", "/auth/logout", { body: { refresh_token: refresh }, auth: false }); } catch { /* ends anyway */ }
  }
  signOut("You are logged out.");
}

// `form`: a FormData sent as multipart/form-data (the browser writes its boundary), instead of a JSON `body`.
export async function request(method, path, { body, form, apiKey, auth = true, headers = {}, retry = true } = {}) {
  const sent = { accept: "application/json", ...headers };
  if (body !== undefined) sent["content-type"] = "application/json";
  if (apiKey) sent["x-api-key"] = apiKey;
  else if (auth && token()) sent.authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(config.api_base + path, {
      method, headers: sent, body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "the gateway cannot be reached" } });
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401 && auth && !apiKey && token()) {
      if (retry && await refreshToken()) return request(method, path, { body, form, apiKey, auth, headers, retry: false });
      signOut("Your session has expired; please log in again.");
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

export async function logIn(email, password) {
  const reply = await request("POST", "/auth/login", { body: { email, password }, auth: false });
  keep(reply);
  return reply;
}

export function register(email, password, name) {
  return request("POST", "/auth/register", { body: { email, password, name: name || null }, auth: false });
}
