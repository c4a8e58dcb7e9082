"""Staff accounts: passwords and logins, roles, API tokens."""
