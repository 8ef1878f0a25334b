"""Source fetchers: typed query → extract (I/O, raw payloads) → transform (pure, observation frame)."""
