"""Operators' mail: the DKIM-signed test message sent through the provider's relay."""
