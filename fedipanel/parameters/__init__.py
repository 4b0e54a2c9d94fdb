"""Provider parameters pinned per operator: machine sizes, Proxmox parameters
and the flake's inputs.

An operator keeps the parameters of their first deployment until a rollout brings new ones, so a
change on the provider's settings page never lands silently in an operator's next plan.
"""
