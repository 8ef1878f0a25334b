#!/usr/bin/env bash
# Scheduled refresh: fetch every live source, then rebuild indicators and dimensions and re-forecast.
# Exit codes (passed through from `aitrack refresh`): 0 all sources fine, 1 partial (some sources failed, the rest
# stored), 2 failed or bad input/configuration, 3 another aitrack job held the lock, 4 internal error (one line here,
# the traceback in the error log), 128+N killed by signal N (143 SIGTERM).
# 0 and 1 are the normal outcomes of a scheduled run; anything else is an ALERT: a line on stderr starting with
# "ALERT", and a syslog message (priority user.err, tag aitrack) when `logger` is available.
# Configuration comes from the environment (AITRACK_DATABASE_URL, AITRACK_CONTACT_EMAIL, keys…), e.g. via
# the systemd unit's EnvironmentFile or the crontab's lines above this job.
set -uo pipefail
AITRACK_BIN="${AITRACK_BIN:-aitrack}"
"$AITRACK_BIN" refresh --then-forecast "$@"
code=$?
case "$code" in
  0) echo "aitrack refresh: all sources fine" >&2 ;;
  1) echo "aitrack refresh: some sources failed; the rest were stored (see aitrack status)" >&2 ;;
  *)
    case "$code" in
      2) what="failed: nothing stored, or bad configuration or input" ;;
      3) what="another aitrack job held the lock; nothing was done" ;;
      4) what="internal error; traceback in aitrack-errors.log (AITRACK_LOG_DIR, default \$AITRACK_DATA_DIR/logs)" ;;
      *) what="stopped by a signal or crashed" ;;
    esac
    echo "ALERT aitrack refresh: $what (exit $code)" >&2
    if command -v logger >/dev/null 2>&1; then
      logger -p user.err -t aitrack "ALERT refresh: $what (exit $code)" || true
    fi
    ;;
esac
exit "$code"
