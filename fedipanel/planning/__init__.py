"""The planner: what a deployment will create, update, delete or keep."""

from .planner import ACTIONS, Change, Plan, changed_fields, plan_changes

__all__ = ["ACTIONS", "Change", "Plan", "changed_fields", "plan_changes"]
