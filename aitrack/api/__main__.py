"""`python -m aitrack.api HOST PORT WORKERS`: the server bench/bench_api.py starts (settings from AITRACK_*)."""

from aitrack.api.server import main

main()
