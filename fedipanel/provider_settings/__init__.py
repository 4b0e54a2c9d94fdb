"""The provider's saved settings: the registry of sections and their storage."""
