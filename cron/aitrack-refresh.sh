#!/usr/bin/env bash
# Scheduled refresh: fetch every live source, then rebuild indicators and dimensions and re-forecast.
# Exit codes (passed through from `aitrack refresh`): 0 all sources fine, 1 partial, 2 failed, 3 another refresh running.
# Configuration comes from the environment (AITRACK_DATABASE_URL, AITRACK_CONTACT_EMAIL, keys…), e.g. via
# the systemd unit's EnvironmentFile or the crontab's lines above this job.
set -uo pipefail
AITRACK_BIN="${AITRACK_BIN:-aitrack}"
"$AITRACK_BIN" refresh --then-forecast "$@"
code=$?
case "$code" in
  0) echo "aitrack refresh: all sources fine" >&2 ;;
  1) echo "aitrack refresh: some sources failed; the rest were stored (see aitrack status)" >&2 ;;
  3) echo "aitrack refresh: another refresh is running; skipped" >&2 ;;
  *) echo "aitrack refresh: failed (exit $code)" >&2 ;;
esac
exit "$code"
