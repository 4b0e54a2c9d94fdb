"""The operator's running services: their administrator passwords and the results of checks."""
