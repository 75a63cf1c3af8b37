"""HTTP plumbing: who is signed in, CSRF checks, request state and bodies, faults, logs, health, security
headers."""
