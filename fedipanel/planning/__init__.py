"""Planning: the glue between stored data and the pure configurator and planner."""
