"""The provider's authoritative DNS server, changed through RFC 2136 dynamic updates."""
