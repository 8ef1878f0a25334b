"""Parser key (as named in snapshot manifests) → curated snapshot parser `(RawPayload, options) -> observation frame`."""

from __future__ import annotations

from typing import Any, Callable

import polars as pl

from fetchers.base import RawPayload
from fetchers.curated import (
    aiddata,
    bridash,
    epoch_clusters,
    freedomhouse,
    ncses,
    ncses_citations,
    neurips,
    oecd_ai,
    opendoors,
    pew,
    top500,
    unga,
    vdem,
)

CURATED_PARSERS: dict[str, Callable[[RawPayload, dict[str, Any]], pl.DataFrame]] = {
    "curated.ncses_wide": ncses.parse_ncses_wide,
    "curated.ncses_long": ncses.parse_ncses_long,
    "curated.ncses_matrix": ncses.parse_ncses_matrix,
    "curated.ncses_year_blocks": ncses_citations.parse_ncses_year_blocks,
    "curated.ncses_wide_measures": ncses_citations.parse_ncses_wide_measures,
    "curated.top500_by_country": top500.parse_top500_by_country,
    "curated.top500_list_xlsx": top500.parse_top500_list_xlsx,
    "curated.unga_closer": unga.parse_unga_closer,
    "curated.vdem": vdem.parse_vdem,
    "curated.freedomhouse_fiw": freedomhouse.parse_freedomhouse_fiw,
    "curated.pew_favourability": pew.parse_pew_favourability,
    "curated.opendoors_totals": opendoors.parse_opendoors_totals,
    "curated.opendoors_origin": opendoors.parse_opendoors_origin,
    "curated.oecd_ai_vc": oecd_ai.parse_oecd_ai_vc,
    "curated.epoch_gpu_clusters": epoch_clusters.parse_epoch_gpu_clusters,
    "curated.neurips_region_counts": neurips.parse_neurips_region_counts,
    "curated.neurips_us_china_collaboration": neurips.parse_neurips_us_china_collaboration,
    "curated.aiddata_gcdf": aiddata.parse_aiddata_gcdf,
    "curated.bri_partners": bridash.parse_bri_partners,
    "curated.confucius_institutes": bridash.parse_confucius_institutes,
}
