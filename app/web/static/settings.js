// "Apps and sessions": the buttons of the server-rendered lists. Every change goes through a GraphQL mutation
// (the rules live on the server); the page then removes what ended and checks its lists against the server.

import { confirmAction } from "./confirm.js";
import { graphql, SignedOut } from "./graphql.js";
import { keepTimesFresh } from "./time.js";

const REVOKE_ACCESS = `mutation RevokeAccess($appId: ID!) {
  revokeAccess(input: {appId: $appId}) { app { id } userErrors { message code } }
}`;
const LOGOUT_SESSION = `mutation LogoutSession($sessionId: ID!) {
  logoutSession(input: {sessionId: $sessionId}) { sessionId userErrors { message code } }
}`;
const LOGOUT_OTHER_SESSIONS = `mutation LogoutOtherSessions {
  logoutOtherSessions { loggedOutCount userErrors { message code } }
}`;
const LISTS = `query AppsAndSessions {
  viewer {
    connectedApps(first: 100) { totalCount nodes { app { id } } }
    sessions(first: 100) { totalCount nodes { id } }
  }
}`;

const dialog = document.querySelector("dialog[data-confirm]");
const statusBox = document.querySelector("[data-status]");
const othersFoot = document.querySelector("[data-others]");
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
  othersFoot.dataset.others = String(others);
  othersFoot.hidden = others === 0;
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
    announce(error ? `${name} was already disconnected.` : `${name} no longer has access to your account.`);
    quietly(reconcile());
  });
}

async function logoutSession(button) {
  const card = button.closest("li");
  const device = card.dataset.device;
  // Asked first, as Revoke and "Log out all other sessions" are: the buttons stand close together on a phone.
  const confirmed = await confirmAction(dialog, {
    title: `Log out ${device}?`,
    message: `The session on ${device} ends right away. Whoever uses it will have to sign in again.`,
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
    announce(error ? `That session had already ended.` : `Logged out the session on ${device}.`);
    quietly(reconcile());
  });
}

async function logoutOtherSessions(button) {
  const others = Number(othersFoot.dataset.others);
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
    announce(`Logged out ${plural(payload.loggedOutCount, "other session", "other sessions")}.`);
    quietly(reconcile());
  });
}

const ACTIONS = { revoke: revokeAccess, "logout-session": logoutSession, "logout-others": logoutOtherSessions };

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button && ACTIONS[button.dataset.action]) ACTIONS[button.dataset.action](button);
});

for (const button of document.querySelectorAll("button[data-action]")) button.hidden = false;
othersFoot.hidden = Number(othersFoot.dataset.others) === 0;
keepTimesFresh();
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") quietly(reconcile());
});
