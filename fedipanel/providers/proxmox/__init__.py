"""Proxmox VE: the provider's cluster, reached through proxmoxer with an API token."""
