"""The operator's own LDAP directory: its settings, and the accounts synced from it."""
