"""Integration tests: a real redis-server and real forking RQ workers run deployments."""
