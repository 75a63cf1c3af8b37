// One connected app's page: the Revoke access button at the bottom, through the revokeAccess mutation (which takes
// the ConnectedApp's ID); the page then says what ended.

import { confirmAction } from "./confirm.js";
import { graphql, SignedOut } from "./graphql.js";
import { tokensEnded } from "./receipt.js";
import { keepTimesFresh } from "./time.js";

const REVOKE_ACCESS = `mutation RevokeAccess($appId: ID!) {
  revokeAccess(input: {appId: $appId}) {
    app { id } receipt { accessTokens refreshTokens sessions endedAt } userErrors { message code }
  }
}`;

const root = document.querySelector("[data-connected-id]");
const button = document.querySelector("button[data-action=revoke]");
const done = document.querySelector("[data-revoked]");
const name = root.dataset.appName;

async function revoke() {
  const confirmed = await confirmAction(document.querySelector("dialog[data-confirm]"), {
    title: `Revoke access for ${name}?`,
    message: `${name} will lose access to your account right away, and everything it holds for your account ` +
      `stops working. To use it again, you would connect it again from the app.`,
    confirmLabel: "Revoke access",
  });
  if (!confirmed) return;
  button.disabled = true;
  button.textContent = "Revoking…";
  try {
    const { revokeAccess: payload } = await graphql(REVOKE_ACCESS, { appId: root.dataset.connectedId });
    const [error] = payload.userErrors;
    if (error && error.code !== "NOT_FOUND") throw new Error(error.message);
    button.remove();
    done.textContent = error ? `${name} was already disconnected.`
      : `${name} no longer has access to your account. ${tokensEnded(payload.receipt)}`;
    done.hidden = false;
    document.getElementById("revoke-title").focus();
  } catch (error) {
    if (error instanceof SignedOut) return;
    button.disabled = false;
    button.textContent = "Revoke access";
    button.focus();
    const status = document.querySelector("[data-status]");
    status.textContent = error.message;
    status.dataset.tone = "error";
    status.classList.add("visible");
  }
}

button.addEventListener("click", revoke);
button.hidden = false;
keepTimesFresh();
