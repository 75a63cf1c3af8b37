"""OAuth 1.0a User Context (RFC 5849, X's paths) on Authlib's ``authlib.oauth1.rfc5849`` server pieces."""
