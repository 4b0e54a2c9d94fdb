"""Operator configurations: versioned, validated, with history."""
