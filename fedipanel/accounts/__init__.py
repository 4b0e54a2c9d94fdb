"""Accounts: providers and operators, passwords, API tokens, the login rate limit."""
