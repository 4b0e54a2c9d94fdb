"""Recorded resources: what exists for each operator, so plans compare against it."""
