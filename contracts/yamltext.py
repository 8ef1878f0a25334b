"""YAML documents of the repository (catalog, manifests, seed evidence) parsed with libyaml's safe loader when
PyYAML was built with it (5–10× faster than the pure-Python one; the same objects), else the pure-Python one."""

from __future__ import annotations

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """`yaml.safe_load(text)`: the same result and the same `yaml.YAMLError` on a bad document."""
    return yaml.load(text, Loader=_SAFE_LOADER)
