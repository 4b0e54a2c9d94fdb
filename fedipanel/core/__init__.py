"""The pure core: configuration model, configurator, planner, validators, service registry."""
