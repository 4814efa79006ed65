"""Plain data shared by every layer: resource identities and the like."""
