// A revocation receipt in words. app/web/receipt_words.py says the same on the server: keep the two in step.

const count = (number, one, many) => `${number} ${number === 1 ? one : many}`;

export function tokensEnded(receipt) {
  const parts = [];
  if (receipt.accessTokens) parts.push(count(receipt.accessTokens, "access token", "access tokens"));
  if (receipt.refreshTokens) parts.push(count(receipt.refreshTokens, "refresh token", "refresh tokens"));
  if (!parts.length) return "Nothing it held was still working.";
  return `${parts.join(" and ")} stopped working.`;
}
