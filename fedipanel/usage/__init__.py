"""Usage: what each operator's machines and buckets use over time, and its monthly totals."""
