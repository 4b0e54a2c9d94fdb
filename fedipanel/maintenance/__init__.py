"""Maintenance windows: when each operator's deployment may be updated by the provider."""
