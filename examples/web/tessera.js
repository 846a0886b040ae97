// A small browser client for Tessera's /v1 API. No dependencies: copy it into your app.
//
// What it keeps where:
// - the access token: in this module's memory only (gone on reload: the refresh cookie brings
//   a new one);
// - the refresh token: an HttpOnly cookie the browser keeps; JavaScript never sees it;
// - the device id: localStorage (not a secret; it names this browser to the session list).
// Nothing secret is ever written to localStorage or sessionStorage.

const DEVICE_KEY = "tessera.device_id";

const settings = { baseUrl: "", apiKey: "", appId: "web-app", language: "en" };
let accessToken = null;
let refreshing = null; // the one refresh in flight, shared by every caller that got a 401

/** Where the gateway is, the API key (registration only), the app id and the language. */
export function configure(options) {
  Object.assign(settings, options);
}

/** A stable id for this browser, made once and kept in localStorage. */
export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

/** Thrown for every answer that is not 2xx; `message` is the server's localized text. */
export class TesseraError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.body = body;
  }
}

function headers(extra = {}) {
  return {
    "Content-Type": "application/json",
    "Accept-Language": settings.language,
    "X-App-ID": settings.appId,
    "X-Device-ID": deviceId(),
    ...extra,
  };
}

async function call(path, { method = "POST", body, extra, credentials = "omit" } = {}) {
  const response = await fetch(settings.baseUrl + path, {
    method,
    headers: headers(extra),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new TesseraError(response.status, data);
  return data;
}

/** Starts a registration; a code goes to the email or phone. Returns {message, user_id}. */
export function register({ credentialType, credentialValue, password, termsAccepted, privacyAccepted }) {
  return call("/v1/users/initiate-registration", {
    body: {
      credential_type: credentialType,
      credential_value: credentialValue,
      password,
      terms_accepted: termsAccepted,
      privacy_policy_accepted: privacyAccepted,
    },
    extra: { "X-API-Key": settings.apiKey },
  });
}

/** Confirms the registration code; the account becomes active. */
export function verify({ userId, credentialType, otp }) {
  return call("/v1/users/verify-registration", {
    body: { user_id: userId, credential_type: credentialType, otp },
    extra: { "X-API-Key": settings.apiKey },
  });
}

/**
 * Signs in. Returns {session} when done, or {challenge} when a second factor is needed
 * (then call verify2fa with it). `credentials: "include"` lets the browser store the cookie.
 */
export async function signIn(username, password) {
  const data = await call("/v1/authenticate", {
    body: { username, password },
    credentials: "include",
  });
  if (data.mfa_required) return { challenge: data };
  accessToken = data.access_token;
  return { session: data };
}

/** The second factor: the challenge token travels only in X-MFA-Challenge. */
export async function verify2fa(challenge, otp) {
  const data = await call("/v1/verify-2FA", {
    body: { otp },
    extra: { "X-MFA-Challenge": challenge.challenge_token },
    credentials: "include",
  });
  accessToken = data.access_token;
  return { session: data };
}

/** Instead of the code: one of the user's recovery codes (each works once). */
export async function useRecoveryCode(challenge, recoveryCode) {
  const data = await call("/v1/verify-2FA", {
    body: { recovery_code: recoveryCode },
    extra: { "X-MFA-Challenge": challenge.challenge_token },
    credentials: "include",
  });
  accessToken = data.access_token;
  return { session: data };
}

/** One refresh at a time: concurrent callers wait for the same answer. */
function refresh() {
  if (!refreshing) {
    refreshing = call("/v1/refresh-token", { credentials: "include" })
      .then((data) => {
        accessToken = data.access_token;
        return accessToken;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

function authorized(path, init, token) {
  const extra = token ? { Authorization: `Bearer ${token}` } : {};
  return fetch(settings.baseUrl + path, {
    ...init,
    headers: { ...headers(extra), ...(init.headers || {}) },
  });
}

/**
 * fetch() with the access token. On a 401 it refreshes once (the HttpOnly cookie rides along)
 * and retries; a 401 for a token someone else already replaced just retries with the new one.
 */
export async function fetchWithAuth(path, init = {}) {
  const sent = accessToken;
  const response = await authorized(path, init, sent);
  if (response.status !== 401) return response;
  const token = accessToken !== sent ? accessToken : await refresh();
  return authorized(path, init, token);
}

/**
 * fetchWithAuth for JSON calls: `body` is sent as JSON, the answer's JSON is returned
 * (null for 204), and an answer that is not 2xx throws TesseraError with the server's message.
 */
export async function api(path, { method = "GET", body, headers } = {}) {
  const init = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetchWithAuth(path, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new TesseraError(response.status, data);
  return data;
}

/**
 * After a reload: asks for a new access token with the refresh cookie, if the browser has one.
 * Resolves true when a session is back, false when the user must sign in.
 */
export async function restore() {
  try {
    await refresh();
    return true;
  } catch (error) {
    if (error instanceof TesseraError && error.status === 401) return false;
    throw error;
  }
}

/** Forgets the in-memory access token, as a page reload does; the next call refreshes. */
export function dropAccessToken() {
  accessToken = null;
}

/** Ends this session on the server; the answer also clears the refresh cookie. */
export function signOut() {
  return end("/v1/logout");
}

/** Ends every session of the user, on every device and app. */
export function signOutEverywhere() {
  return end("/v1/logout-all");
}

async function end(path) {
  try {
    const response = await fetchWithAuth(path, { method: "POST", credentials: "include" });
    if (!response.ok) throw new TesseraError(response.status, await response.json().catch(() => null));
  } finally {
    accessToken = null;
  }
}
