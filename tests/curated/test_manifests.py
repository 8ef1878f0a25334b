"""Every snapshot manifest against its directory: listed ⇔ present, sha256 recomputed, excluded files absent, parsers known."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.curated.sources import CURATED_SOURCES
from fetchers.registry import SNAPSHOT_PARSERS
from fetchers.snapshot import (
    MANIFEST_NAME,
    SNAPSHOT_ROOT,
    UNLISTED_NAMES,
    SnapshotFetcher,
    SnapshotQuery,
    file_sha256,
    find_manifests,
    read_manifest,
)
from fetchers.errors import SchemaDriftError

from .conftest import CURATED_ROOT

MANIFESTS = find_manifests(SNAPSHOT_ROOT)
CURATED_PROVIDERS = ("ncses", "top500", "unga", "vdem", "freedomhouse", "pew", "opendoors", "oecd_ai",
                     "epoch_clusters", "neurips", "aiddata", "bridash")
# Sources whose files may not be redistributed: their manifests list nothing and exclude every file.
NOT_SHIPPED = ("neurips", "aiddata", "bridash")


def _ids(manifests):
    return [str(m.directory.relative_to(SNAPSHOT_ROOT)) for m in manifests]


def test_every_curated_provider_has_a_manifest():
    for provider in CURATED_PROVIDERS:
        assert (CURATED_ROOT / provider / MANIFEST_NAME).is_file(), provider


@pytest.mark.parametrize("root", [CURATED_ROOT, SNAPSHOT_ROOT], ids=["curated", "whole-snapshot"])
def test_every_data_file_is_listed_in_its_directorys_manifest(root):
    listed = {m.directory / e.file for m in find_manifests(root) for e in m.files}
    on_disk = {p for p in root.rglob("*") if p.is_file() and p.name not in UNLISTED_NAMES}
    assert sorted(str(p.relative_to(root)) for p in on_disk - listed) == []


@pytest.mark.parametrize("manifest", MANIFESTS, ids=_ids(MANIFESTS))
def test_listed_files_exist_and_match_their_sha256(manifest):
    # A manifest that ships nothing still documents a decision: every file it leaves out, with the reason.
    assert manifest.files or manifest.excluded, f"{manifest.path} lists no files and excludes none"
    for entry in manifest.files:
        assert entry.path.is_file(), entry.path
        assert file_sha256(entry.path) == entry.sha256, entry.path


@pytest.mark.parametrize("manifest", MANIFESTS, ids=_ids(MANIFESTS))
def test_excluded_files_are_absent(manifest):
    for excluded in manifest.excluded:
        assert not (manifest.directory / excluded.file).exists(), excluded.file


@pytest.mark.parametrize("manifest", [m for m in MANIFESTS if CURATED_ROOT in m.path.parents],
                         ids=_ids([m for m in MANIFESTS if CURATED_ROOT in m.path.parents]))
def test_curated_entries_name_a_curated_parser_and_a_known_source(manifest):
    for entry in manifest.files:
        assert entry.parser in CURATED_PARSERS, entry.parser
        assert entry.source in CURATED_SOURCES, entry.source
        assert entry.source == manifest.directory.name, "a curated directory is named after its source id"
        assert entry.repository, "curated files name the repository and commit they were copied from"


def _copy_provider(tmp_path: Path, provider: str) -> Path:
    target = tmp_path / "snapshot" / provider
    shutil.copytree(CURATED_ROOT / provider, target)
    return target


def test_a_changed_byte_is_a_schema_drift_naming_the_file(tmp_path):
    directory = _copy_provider(tmp_path, "pew")
    data = directory / "TRUMPWORLD-us.csv"
    data.write_bytes(data.read_bytes().replace(b"67.5", b"67.6", 1))
    with pytest.raises(SchemaDriftError, match="TRUMPWORLD-us.csv"):
        SnapshotFetcher(SNAPSHOT_PARSERS, tmp_path / "snapshot").extract(SnapshotQuery())


def test_a_listed_file_that_is_missing_is_a_schema_drift(tmp_path):
    directory = _copy_provider(tmp_path, "pew")
    (directory / "TRUMPWORLD-us.csv").unlink()
    with pytest.raises(SchemaDriftError, match="TRUMPWORLD-us.csv"):
        SnapshotFetcher(SNAPSHOT_PARSERS, tmp_path / "snapshot").extract(SnapshotQuery())


def _rewrite_manifest(directory: Path, change) -> Path:
    path = directory / MANIFEST_NAME
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_an_unknown_manifest_key_is_rejected(tmp_path):
    directory = _copy_provider(tmp_path, "pew")
    path = _rewrite_manifest(directory, lambda raw: raw["files"][0].update(note="free text"))
    with pytest.raises(SchemaDriftError, match="note"):
        read_manifest(path)


def test_a_file_that_may_not_be_redistributed_cannot_be_listed(tmp_path):
    directory = _copy_provider(tmp_path, "pew")
    path = _rewrite_manifest(directory, lambda raw: raw["files"][0].update(redistributable=False))
    with pytest.raises(SchemaDriftError, match="excluded"):
        read_manifest(path)


def test_a_file_both_listed_and_excluded_is_rejected(tmp_path):
    directory = _copy_provider(tmp_path, "pew")
    path = _rewrite_manifest(
        directory, lambda raw: raw.update(excluded=[{"file": "TRUMPWORLD-us.csv", "reason": "test"}]))
    with pytest.raises(SchemaDriftError, match="both listed and excluded"):
        read_manifest(path)


@pytest.mark.parametrize("provider", NOT_SHIPPED)
def test_sources_with_an_unclear_licence_ship_no_file_and_say_why(provider):
    manifest = read_manifest(CURATED_ROOT / provider / MANIFEST_NAME)
    assert manifest.files == []
    assert manifest.excluded and all(len(x.reason) > 20 for x in manifest.excluded)
    assert sorted(p.name for p in (CURATED_ROOT / provider).iterdir()) == [MANIFEST_NAME]
    assert CURATED_SOURCES[provider].redistributable is False


NOT_SHIPPED_PARSERS = {
    "neurips": ("curated.neurips_region_counts", "curated.neurips_us_china_collaboration"),
    "aiddata": ("curated.aiddata_gcdf",),
    "bridash": ("curated.bri_partners", "curated.confucius_institutes"),
}


def test_every_curated_parser_is_documented_and_excluded_files_name_theirs():
    readme = (SNAPSHOT_ROOT / "README.md").read_text(encoding="utf-8")
    for parser in CURATED_PARSERS:
        assert f"`{parser}`" in readme, f"{parser} is missing from the parser table of data/snapshot/README.md"
    for provider, parsers in NOT_SHIPPED_PARSERS.items():
        text = (CURATED_ROOT / provider / MANIFEST_NAME).read_text(encoding="utf-8")
        for parser in parsers:
            assert parser in CURATED_PARSERS and parser in text, (provider, parser)
