"""Indicators: the catalog (YAML → validated entries), country helpers, pure transforms, derived series and the four dimension composites."""
