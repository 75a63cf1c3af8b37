"""Consentry: connected third-party apps and login sessions."""
