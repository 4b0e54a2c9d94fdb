"""Garage: its admin API v2 (buckets, keys, permissions) and its S3 API (probe, empty, CORS)."""
