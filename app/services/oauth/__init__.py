"""The OAuth token lifecycle: authorization codes, access and refresh tokens, revocation, and the lock order that
keeps them consistent (``locks``). Sync functions serve Authlib's worker thread, async ones the requests."""
