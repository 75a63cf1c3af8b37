"""OAuth 1.0a User Context (RFC 5849): credentials, the nonce store, and the secrets HMAC signatures need."""
