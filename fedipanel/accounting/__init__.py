"""What the provider keeps about a deleted account, for as long as the law asks, and no longer."""
