// The page: shows one step at a time and calls tessera.js. Read it top to bottom.
import config from "./config.js"; // written by `make run`: the gateway URL and the dev API key
import * as tessera from "./tessera.js";

tessera.configure({ baseUrl: config.gatewayUrl, apiKey: config.apiKey, appId: "web-app" });

const steps = ["register", "verify", "signin", "second-factor", "account"];
let pending = null; // {userId, email} between registration and its code
let challenge = null; // the MFA challenge between sign-in and the 2FA code

function show(step, notice = "") {
  for (const id of steps) document.getElementById(id).hidden = id !== step;
  document.getElementById("error").textContent = "";
  document.getElementById("notice").textContent = notice;
}

function fail(error) {
  // The server's message is already in the user's language (Accept-Language).
  document.getElementById("error").textContent = error.message;
}

function onSubmit(step, handler) {
  const form = document.querySelector(`#${step} form`);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await handler(new FormData(form));
    } catch (error) {
      fail(error);
    }
  });
}

onSubmit("register", async (form) => {
  const email = form.get("email");
  const answer = await tessera.register({
    credentialType: "email",
    credentialValue: email,
    password: form.get("password"),
    termsAccepted: form.get("terms") === "on",
    privacyAccepted: form.get("privacy") === "on",
  });
  pending = { userId: answer.user_id, email };
  show("verify", answer.message);
});

onSubmit("verify", async (form) => {
  const answer = await tessera.verify({
    userId: pending.userId,
    credentialType: "email",
    otp: form.get("otp"),
  });
  show("signin", answer.message);
  document.querySelector("#signin [name=username]").value = pending.email;
});

onSubmit("signin", async (form) => {
  const result = await tessera.signIn(form.get("username"), form.get("password"));
  if (result.challenge) {
    challenge = result.challenge;
    show("second-factor", `A code was sent (${challenge.mfa_mode}).`);
  } else {
    await showAccount();
  }
});

onSubmit("second-factor", async (form) => {
  await tessera.verify2fa(challenge, form.get("otp"));
  challenge = null;
  await showAccount();
});

async function showAccount() {
  const response = await tessera.fetchWithAuth("/v1/users/me");
  const body = await response.json();
  if (!response.ok) throw new tessera.TesseraError(response.status, body);
  document.getElementById("me").textContent = JSON.stringify(body, null, 2);
  show("account");
}

document.getElementById("signout").addEventListener("click", async () => {
  try {
    await tessera.signOut();
    show("signin", "Signed out.");
  } catch (error) {
    fail(error);
  }
});

window.addEventListener("hashchange", () => {
  const step = location.hash.slice(1);
  if (step === "register" || step === "signin") show(step);
});
show(location.hash === "#signin" ? "signin" : "register");
