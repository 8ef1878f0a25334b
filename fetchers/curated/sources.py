"""Curated source id → its provenance (SourceInfo) for the `source` table; the ids are the `source` of the snapshot's curated observations."""

from __future__ import annotations

from fetchers.base import SourceInfo

CURATED_SOURCES: dict[str, SourceInfo] = {
    info.id: info
    for info in (
        SourceInfo(
            id="ncses",
            producer="National Center for Science and Engineering Statistics (NCSES), U.S. National Science Foundation",
            title="Science and Engineering Indicators: supplemental and report tables",
            homepage="https://ncses.nsf.gov/indicators",
            licence="U.S. federal government statistics (public domain); copied from a CC BY-SA 4.0 repository",
            citation="National Center for Science and Engineering Statistics, Science and Engineering Indicators "
                     "(table number in source_series)",
            redistributable=True,
            cadence_days=730,  # SEI is a biennial report
        ),
        SourceInfo(
            id="top500",
            producer="TOP500 project (top500.org)",
            title="TOP500 supercomputer lists, by country",
            homepage="https://top500.org/lists/top500/",
            licence="no licence stated; list spreadsheets free for use with attribution to TOP500.org",
            citation="TOP500.org, TOP500 list (list date in source_series)",
            redistributable=True,
            cadence_days=183,  # a list each June and November
        ),
        SourceInfo(
            id="unga",
            producer="Michael Bailey, Anton Strezhnev, Erik Voeten",
            title="United Nations General Assembly Voting Data (agreement scores), June 2024 version",
            homepage="https://doi.org/10.7910/DVN/LEJUQZ",
            licence="CC0 (Harvard Dataverse default)",
            citation="Bailey, Strezhnev & Voeten (2017), Estimating Dynamic State Preferences from United Nations "
                     "Voting Data, Journal of Conflict Resolution 61(2):430-456; doi:10.7910/DVN/LEJUQZ",
            redistributable=True,
            cadence_days=365,
        ),
        SourceInfo(
            id="vdem",
            producer="V-Dem Institute",
            title="V-Dem Country-Year dataset: liberal and electoral democracy indices",
            homepage="https://www.v-dem.net/data/",
            licence="free to use with citation (V-Dem); no licence stated by the repository it was copied from",
            citation="Coppedge et al., V-Dem Country-Year Dataset, V-Dem Institute",
            redistributable=True,
            cadence_days=365,
        ),
        SourceInfo(
            id="freedomhouse",
            producer="Freedom House",
            title="Freedom in the World, all data 2013-2024",
            homepage="https://freedomhouse.org/report/freedom-world",
            licence="Freedom House: non-commercial use with attribution; republished in the CC0 R package "
                     "'freedomhouse'",
            citation="Freedom House, Freedom in the World (edition in source_series)",
            redistributable=True,
            cadence_days=365,
        ),
        SourceInfo(
            id="pew",
            producer="Pew Research Center, Global Attitudes (via FiveThirtyEight)",
            title="Favourable view of the U.S., by surveyed country, 2000-2017",
            homepage="https://github.com/fivethirtyeight/data/tree/master/trump-world-trust",
            licence="MIT (FiveThirtyEight data repository)",
            citation="Pew Research Center Global Attitudes surveys, as compiled by FiveThirtyEight (TRUMPWORLD-us.csv)",
            redistributable=True,
            cadence_days=365,
        ),
        SourceInfo(
            id="opendoors",
            producer="Institute of International Education (IIE), Open Doors",
            title="International students in the U.S., by place of origin",
            homepage="https://opendoorsdata.org",
            licence="no licence stated (IIE data redistributed on Kaggle and GitHub)",
            citation="Institute of International Education, Open Doors Report on International Educational Exchange",
            redistributable=True,
            cadence_days=365,
        ),
        SourceInfo(
            id="oecd_ai",
            producer="OECD.AI Policy Observatory (data: Preqin)",
            title="VC investments in AI by country",
            homepage="https://oecd.ai/en/data?selectedArea=investments-in-ai-and-data",
            licence="OECD terms (reuse with attribution); VC figures from Preqin via OECD.AI",
            citation="OECD.AI (2026), VC investments in AI by country, using Preqin data",
            redistributable=True,
            cadence_days=180,
        ),
        SourceInfo(
            id="epoch_clusters",
            producer="Epoch AI",
            title="Data on GPU Clusters (AI supercomputers), H100-equivalent capacity by country",
            homepage="https://epoch.ai/data/gpu-clusters",
            licence="CC BY 4.0 (Epoch AI); copied from a personal mirror of Epoch's downloads",
            citation="Epoch AI, 'Data on GPU Clusters'. Published online at epoch.ai. "
                     "Retrieved from 'https://epoch.ai/data/gpu-clusters'",
            redistributable=True,
            cadence_days=90,
        ),
        SourceInfo(
            id="neurips",
            producer="P. Kagitha, analysis of NeurIPS accepted papers (OpenReview exports), github.com/prakashkagitha/neurips-us-vs-china",
            title="NeurIPS accepted papers by author-affiliation region, and US-China co-authored papers, 2021-2025",
            homepage="https://github.com/prakashkagitha/neurips-us-vs-china",
            licence="no licence file in the repository; not redistributed in the snapshot",
            citation="prakashkagitha/neurips-us-vs-china (commit 8683430f), from NeurIPS accepted-paper exports on OpenReview",
            redistributable=False,
            cadence_days=365,
        ),
        SourceInfo(
            id="aiddata",
            producer="AidData at William & Mary (Global Chinese Development Finance Dataset 3.0), summed by the R package odadata",
            title="Chinese official development finance commitments by recipient and year (constant 2021 US$)",
            homepage="https://www.aiddata.org/data/aiddatas-global-chinese-development-finance-dataset-version-3-0",
            licence="odadata README badge says MIT (licence not filled in); AidData's own terms unchecked; "
                    "not redistributed in the snapshot",
            citation="AidData (2023), Global Chinese Development Finance Dataset, Version 3.0; aggregated in "
                     "milesdwilliams15/odadata data/cow_gcdf.csv",
            redistributable=False,
            cadence_days=730,
        ),
        SourceInfo(
            id="bridash",
            producer="NC State University Laboratory for Analytic Sciences (LAS), BRI influence dashboard",
            title="Belt and Road MoU year by country (from greenfdc.org) and Confucius Institutes listing (2021-22)",
            homepage="https://github.com/LAS-NCSU/bridash",
            licence="no licence file in the repository; not redistributed in the snapshot",
            citation="LAS-NCSU/bridash (commit aa42f86d); BRI list from the Green Finance & Development Center, "
                     "Confucius Institutes from Dig Mandarin (2021) and US press lists",
            redistributable=False,
            cadence_days=365,
        ),
    )
}
