"""Deployments: the durable record of one apply, its progress and its log."""
