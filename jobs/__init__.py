"""What runs in the worker: one module per job kind. Jobs take ids, never ORM objects."""
