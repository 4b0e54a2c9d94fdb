"""Machines the provider hands out: quotas per operator, pre-deployed VMs, static addresses."""
