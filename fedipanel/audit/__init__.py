"""The audit log: who changed what, when and from where; never a secret, never edited."""
