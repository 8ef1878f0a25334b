"""Curated providers with no live API (NCSES, TOP500, UN voting, V-Dem, Freedom House, Pew, Open Doors, OECD.AI and
the round-2 files): their files in data/snapshot/curated/ in, observation frames out, through `parsers.CURATED_PARSERS`."""
