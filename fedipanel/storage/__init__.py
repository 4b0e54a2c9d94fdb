"""S3 storage an operator's services use: Garage keys the panel keeps, pre-configured buckets."""
