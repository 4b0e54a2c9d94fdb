"""Provider rollouts: one change for many operators, each updated in their maintenance window."""
