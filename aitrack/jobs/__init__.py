"""The jobs behind the commands, as thin orchestration: read through `db.read.Reader`, compute with `fetchers`,
`indicators` and `forecasts`, write through `db.write.Writer`, and return plain result records (rendering is the
CLI's job).

- `catalog`: the catalog of this database (packaged + user indicators), synced to the `indicator` table;
- `ingest`: the embedded snapshot, live sources, an analyst's file, the seed evidence;
- `build`: derived indicators and the four dimension scores;
- `forecast`: forecasts, crossovers and backtests of pair indicators and dimensions.
"""
