// POST a GraphQL document to this origin with the session cookie. The server accepts only same-origin
// application/json requests from a cookie, which is exactly what fetch sends here.

export class SignedOut extends Error {}

export async function graphql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    // The request never got an answer (offline, server down): the browser's own "Failed to fetch" says nothing.
    throw new Error("Consentry could not be reached, so nothing was changed. Check your connection and try again.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new Error(`Something went wrong on the server (${response.status}), so nothing was changed. Try again.`);
  }
  const errors = body.errors || [];
  if (errors.some((error) => error.extensions && error.extensions.code === "UNAUTHENTICATED")) {
    // The session ended (logged out elsewhere or expired): back to sign-in, which says why, then here again.
    window.location.assign("/login?ended=1&next=" + encodeURIComponent(window.location.pathname));
    throw new SignedOut("You are signed out.");
  }
  if (!response.ok || errors.length) {
    throw new Error(errors.length ? errors[0].message : `The server answered ${response.status}.`);
  }
  return body.data;
}
