// "Apps and sessions": the buttons of the server-rendered lists. Every change goes through a GraphQL mutation
// (the rules live on the server); the page then removes what ended and checks its lists against the server.

import { confirmAction } from "./confirm.js";
import { graphql, SignedOut } from "./graphql.js";
import { tokensEnded } from "./receipt.js";
import { keepTimesFresh, relativeTime } from "./time.js";

const RECEIPT = "receipt { accessTokens refreshTokens sessions endedAt }";
const REVOKE_ACCESS = `mutation RevokeAccess($appId: ID!) {
  revokeAccess(input: {appId: $appId}) { app { id } ${RECEIPT} userErrors { message code } }
}`;
const LOGOUT_SESSION = `mutation LogoutSession($sessionId: ID!) {
  logoutSession(input: {sessionId: $sessionId}) { sessionId ${RECEIPT} userErrors { message code } }
}`;
const LOGOUT_OTHER_SESSIONS = `mutation LogoutOtherSessions {
  logoutOtherSessions { loggedOutCount ${RECEIPT} userErrors { message code } }
}`;
const SECURE_ACCOUNT = `mutation SecureAccount($revokeApps: Boolean!) {
  secureAccount(input: {revokeApps: $revokeApps}) { revokedAppCount ${RECEIPT} userErrors { message code } }
}`;
const LISTS = `query AppsAndSessions {
  viewer {
    connectedApps(first: 100) { totalCount nodes { app { id } } }
    sessions(first: 100) { totalCount nodes { id } }
  }
}`;

const dialog = document.querySelector("dialog[data-confirm]");
const secureDialog = document.querySelector("dialog[data-secure]");
const statusBox = document.querySelector("[data-status]");
const othersButton = document.querySelector("button[data-action=logout-others]");
let statusTimer = 0;

const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`;
const appCards = () => [...document.querySelectorAll("[data-list=apps] > li")];
const sessionCards = () => [...document.querySelectorAll("[data-list=sessions] > li")];

function announce(message, tone = "info") {
  statusBox.textContent = message;
  statusBox.dataset.tone = tone;
  statusBox.classList.add("visible");
  window.clearTimeout(statusTimer);
  statusTimer = window.setTimeout(() => statusBox.classList.remove("visible"), 6000);
}

function setCount(name, count) {
  const badge = document.querySelector(`[data-count=${name}]`);
  badge.textContent = String(count);
  badge.setAttribute("aria-label", `${count} ${name === "apps" ? "connected" : "active"}`);
}

function showCounts(appsTotal = appCards().length, sessionsTotal = sessionCards().length) {
  setCount("apps", appsTotal);
  setCount("sessions", sessionsTotal);
  document.querySelector("[data-empty=apps]").hidden = appsTotal > 0;
  const others = Math.max(sessionsTotal - 1, 0);
  othersButton.dataset.others = String(others);
  othersButton.hidden = others === 0;
  document.querySelector("[data-empty=sessions]").hidden = others > 0;
}

function focusHeading(id) {
  document.getElementById(id).focus();
}

// Brings the lists in line with the server (another tab may have changed them). Nothing new is drawn here: a
// reload shows items added elsewhere, while this keeps counts honest and drops what ended.
async function reconcile() {
  const { viewer } = await graphql(LISTS);
  const apps = new Set(viewer.connectedApps.nodes.map((node) => node.app.id));
  const sessions = new Set(viewer.sessions.nodes.map((node) => node.id));
  appCards().filter((card) => !apps.has(card.dataset.appId)).forEach((card) => card.remove());
  sessionCards().filter((card) => !sessions.has(card.dataset.sessionId)).forEach((card) => card.remove());
  showCounts(viewer.connectedApps.totalCount, viewer.sessions.totalCount);
}

function quietly(promise) {
  promise.catch((error) => {
    if (!(error instanceof SignedOut)) console.warn("Could not refresh the lists:", error);
  });
}

async function withBusy(button, busyLabel, work) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busyLabel;
  try {
    await work();
  } catch (error) {
    if (error instanceof SignedOut) return;
    button.disabled = false;
    button.textContent = label;
    button.focus();  // disabling it sent focus to the page; a keyboard user picks up where they were
    announce(error.message, "error");
  }
}

async function revokeAccess(button) {
  const card = button.closest("li");
  const name = card.dataset.appName;
  const confirmed = await confirmAction(dialog, {
    title: `Revoke access for ${name}?`,
    message: `${name} will lose access to your account right away, and everything it holds for your account ` +
      `stops working. To use it again, you would connect it again from the app.`,
    confirmLabel: "Revoke access",
  });
  if (!confirmed) return;
  await withBusy(button, "Revoking…", async () => {
    const { revokeAccess: payload } = await graphql(REVOKE_ACCESS, { appId: card.dataset.appId });
    const [error] = payload.userErrors;
    if (error && error.code !== "NOT_FOUND") throw new Error(error.message);
    card.remove();
    showCounts();
    focusHeading("apps-title");
    announce(error ? `${name} was already disconnected.`
      : `${name} no longer has access to your account. ${tokensEnded(payload.receipt)}`);
    quietly(reconcile());
  });
}

// "Mobile Safari on iOS in United Kingdom, active 40 minutes ago": three iPhones are told apart by browser, place
// and time, not "Log out iPhone?" three times.
function describeSession(card) {
  const place = card.dataset.location ? ` in ${card.dataset.location}` : "";
  const active = `active ${relativeTime(new Date(card.dataset.lastActive))}`;
  return { name: `${card.dataset.software}${place}`, active: card.dataset.current === "true" ? "this device" : active };
}

async function logoutSession(button) {
  const card = button.closest("li");
  const { name, active } = describeSession(card);
  // Asked first, as Revoke and "Log out all other sessions" are: the buttons stand close together on a phone.
  const confirmed = await confirmAction(dialog, {
    title: `Log out ${name}?`,
    message: `The session on ${card.dataset.device} (${name}, ${active}) ends right away. Whoever uses it will ` +
      `have to sign in again.`,
    confirmLabel: "Log out",
  });
  if (!confirmed) return;
  await withBusy(button, "Logging out…", async () => {
    const { logoutSession: payload } = await graphql(LOGOUT_SESSION, { sessionId: card.dataset.sessionId });
    const [error] = payload.userErrors;
    if (error && error.code !== "NOT_FOUND") throw new Error(error.message);
    card.remove();
    showCounts();
    focusHeading("sessions-title");
    announce(error ? `That session had already ended.` : `Logged out ${name}: that session has ended.`);
    quietly(reconcile());
  });
}

async function logoutOtherSessions(button) {
  const others = Number(button.dataset.others);
  const sessions = plural(others, "other session", "other sessions");
  const confirmed = await confirmAction(dialog, {
    title: `Log out ${sessions}?`,
    message: `${others === 1 ? "1 session" : `All ${others} sessions`} other than this device will end. ` +
      `Whoever uses them will have to sign in again. You stay signed in here.`,
    confirmLabel: `Log out ${sessions}`,
  });
  if (!confirmed) return;
  await withBusy(button, "Logging out…", async () => {
    const { logoutOtherSessions: payload } = await graphql(LOGOUT_OTHER_SESSIONS);
    const [error] = payload.userErrors;
    if (error) throw new Error(error.message);
    sessionCards().filter((card) => card.dataset.current !== "true").forEach((card) => card.remove());
    button.disabled = false;
    button.textContent = "Log out all other sessions";
    showCounts();
    focusHeading("sessions-title");
    announce(`Logged out ${plural(payload.receipt.sessions, "other session", "other sessions")}.`);
    quietly(reconcile());
  });
}

// "This wasn't me": every other session ends, every app is revoked unless the box is cleared, and this session
// must choose a new password before anything else, so the page goes straight to that form.
async function secureAccount(button) {
  const card = button.closest("li");
  const { name, active } = describeSession(card);
  secureDialog.querySelector("[data-secure-message]").textContent =
    `You did not sign in on ${name} (${active})? Every session but this one will be logged out, and you will ` +
    `choose a new password before doing anything else.`;
  const opener = document.activeElement;
  secureDialog.returnValue = "cancel";
  const confirmed = await new Promise((resolve) => {
    secureDialog.addEventListener("close", () => resolve(secureDialog.returnValue === "confirm"), { once: true });
    secureDialog.showModal();
  });
  if (!confirmed) {
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    return;
  }
  const revokeApps = secureDialog.querySelector("[data-secure-apps]").checked;
  await withBusy(button, "Securing…", async () => {
    const { secureAccount: payload } = await graphql(SECURE_ACCOUNT, { revokeApps });
    const [error] = payload.userErrors;
    if (error && error.code !== "PASSWORD_CHANGE_REQUIRED") throw new Error(error.message);
    window.location.assign("/settings/password");
  });
}

const ACTIONS = {
  revoke: revokeAccess, "logout-session": logoutSession, "logout-others": logoutOtherSessions, secure: secureAccount,
};

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button && ACTIONS[button.dataset.action]) ACTIONS[button.dataset.action](button);
});

for (const button of document.querySelectorAll("button[data-action]")) button.hidden = false;
othersButton.hidden = Number(othersButton.dataset.others) === 0;
keepTimesFresh();
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") quietly(reconcile());
});
