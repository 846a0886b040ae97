// The page: shows one step at a time and calls tessera.js. Read it top to bottom.
import config from "./config.js"; // written by `make run`: the gateway URL and the dev API key
import * as tessera from "./tessera.js";

const LANGUAGE_KEY = "tessera.language"; // a preference, not a secret
const language = localStorage.getItem(LANGUAGE_KEY) || "en";
tessera.configure({ baseUrl: config.gatewayUrl, apiKey: config.apiKey, appId: "web-app", language });

const $ = (id) => document.getElementById(id);
const steps = ["loading", "register", "verify", "signin", "second-factor", "account"];
let pending = null; // {userId, email} between registration and its code
let challenge = null; // the MFA challenge between sign-in and the 2FA code
let me = null; // the last GET /v1/users/me answer

function show(step, notice = "") {
  for (const id of steps) $(id).hidden = id !== step;
  $("error").textContent = "";
  $("notice").textContent = notice;
}

function say(notice) {
  $("error").textContent = "";
  $("notice").textContent = notice;
}

function fail(error) {
  // The server's message is already in the user's language (Accept-Language).
  $("notice").textContent = "";
  $("error").textContent = error.message;
}

/** Runs a handler for a form's submit or a button's click, showing any error it throws. */
function on(element, event, handler) {
  element.addEventListener(event, async (e) => {
    e.preventDefault();
    try {
      await handler(element instanceof HTMLFormElement ? new FormData(element) : null);
    } catch (error) {
      fail(error);
    }
  });
}

const form = (step) => document.querySelector(`#${step} form`);

// ----- language -----

$("language").value = language;
document.documentElement.lang = language;
$("language").addEventListener("change", () => {
  const chosen = $("language").value;
  localStorage.setItem(LANGUAGE_KEY, chosen);
  document.documentElement.lang = chosen;
  tessera.configure({ language: chosen });
});

// ----- registration and sign-in -----

on(form("register"), "submit", async (data) => {
  const email = data.get("email");
  const answer = await tessera.register({
    credentialType: "email",
    credentialValue: email,
    password: data.get("password"),
    termsAccepted: data.get("terms") === "on",
    privacyAccepted: data.get("privacy") === "on",
  });
  pending = { userId: answer.user_id, email };
  show("verify", answer.message);
});

on(form("verify"), "submit", async (data) => {
  const answer = await tessera.verify({
    userId: pending.userId,
    credentialType: "email",
    otp: data.get("otp"),
  });
  show("signin", answer.message);
  document.querySelector("#signin [name=username]").value = pending.email;
});

on(form("signin"), "submit", async (data) => {
  const result = await tessera.signIn(data.get("username"), data.get("password"));
  if (result.challenge) {
    challenge = result.challenge;
    const where = { email: "by email", sms: "by SMS", totp: "in your authenticator app" };
    show("second-factor", `Enter the code ${where[challenge.mfa_mode] || ""}.`);
  } else {
    await showAccount();
  }
});

on(form("second-factor"), "submit", async (data) => {
  const code = data.get("otp").trim();
  // Six digits are a code; anything else (xxxxx-xxxxx) is taken as a recovery code.
  if (/^\d{6}$/.test(code)) await tessera.verify2fa(challenge, code);
  else await tessera.useRecoveryCode(challenge, code);
  challenge = null;
  form("second-factor").reset();
  await showAccount();
});

// ----- the signed-in page -----

async function showAccount(notice = "") {
  me = await tessera.api("/v1/users/me");
  $("me").textContent = JSON.stringify(me, null, 2);
  const addresses = me.credentials.map((c) => `${c.value}${c.verified ? "" : " (unverified)"}`);
  $("summary").textContent = `${addresses.join(", ")} · two-factor: ${me.mfa_mode}`;
  $("totp-start").disabled = me.totp.enabled;
  await showSessions();
  show("account", notice);
}

async function showSessions() {
  const { sessions } = await tessera.api("/v1/sessions");
  const list = $("sessions");
  list.replaceChildren();
  for (const session of sessions) {
    const item = document.createElement("li");
    const used = new Date(session.last_used_at).toLocaleString();
    item.textContent = `${session.user_agent || "unknown browser"} · app ${session.app_id} · last used ${used}`;
    item.dataset.sessionId = session.id;
    if (session.current) {
      item.append(" (this browser)");
    } else {
      const end = document.createElement("button");
      end.textContent = "Sign out this device";
      on(end, "click", async () => {
        await tessera.api(`/v1/sessions/${session.id}`, { method: "DELETE" });
        await showSessions();
        say("That device is signed out.");
      });
      item.append(end);
    }
    list.append(item);
  }
}

function showRecoveryCodes(codes) {
  if (!codes) return;
  $("recovery-codes").replaceChildren(
    ...codes.map((code) => Object.assign(document.createElement("li"), { textContent: code })),
  );
  $("recovery-box").hidden = false;
}

on($("signout"), "click", async () => {
  await tessera.signOut();
  show("signin", "Signed out.");
});

on($("signout-all"), "click", async () => {
  await tessera.signOutEverywhere();
  show("signin", "Signed out on every device.");
});

// Phone: adding it sends a code; verifying it as a second address turns on 2FA by SMS.
on($("phone-add"), "submit", async (data) => {
  const answer = await tessera.api("/v1/users/credentials", {
    method: "POST",
    body: { type: "phone", value: data.get("phone") },
  });
  $("phone-verify").hidden = false;
  say(answer.message);
});

on($("phone-verify"), "submit", async (data) => {
  const answer = await tessera.api("/v1/users/verify-credential", {
    method: "POST",
    body: { user_id: me.user_id, credential_type: "phone", otp: data.get("otp") },
  });
  $("phone-verify").hidden = true;
  $("phone-verify").reset();
  $("phone-add").reset();
  await showAccount(answer.message);
  showRecoveryCodes(answer.recovery_codes);
});

// Authenticator app: the server makes the secret and its QR code; the first code turns it on.
on($("totp-start"), "click", async () => {
  const setup = await tessera.api("/v1/users/totp/setup", { method: "POST" });
  $("totp-qr").src = setup.qr_code;
  $("totp-secret").textContent = setup.secret;
  $("totp-setup").hidden = false;
  say("");
});

on($("totp-confirm"), "submit", async (data) => {
  const answer = await tessera.api("/v1/users/totp/confirm", {
    method: "POST",
    body: { otp: data.get("otp") },
  });
  $("totp-setup").hidden = true;
  $("totp-confirm").reset();
  await showAccount("Authenticator app is on.");
  showRecoveryCodes(answer.recovery_codes);
});

// Recovery codes: a fresh second-factor code proves it is really the user.
on($("send-code"), "click", async () => {
  const answer = await tessera.api("/v1/users/me/mfa/code", { method: "POST" });
  say(`A code is on its way (${answer.channel}).`);
});

on($("recovery"), "submit", async (data) => {
  const answer = await tessera.api("/v1/users/recovery-codes", {
    method: "POST",
    body: { otp: data.get("otp").trim() },
  });
  $("recovery").reset();
  showRecoveryCodes(answer.recovery_codes);
  say("New recovery codes: the old ones no longer work.");
});

// ----- start: a reload keeps the session (the refresh cookie brings a new access token) -----

window.addEventListener("hashchange", () => {
  const step = location.hash.slice(1);
  if (step === "register" || step === "signin") show(step);
});

async function start() {
  if (await tessera.restore()) return showAccount();
  show(location.hash === "#signin" ? "signin" : "register");
}

start().catch((error) => {
  show("signin");
  fail(error);
});
