"""The steps a deploy runs, one module per external system, sharing a `DeployContext`."""
