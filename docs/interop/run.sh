#!/usr/bin/env bash
# Runs caldav-server-tester against the hub and against plain Radicale with the same
# settings, and stores in docs/interop/ (see docs/interop.md):
#
#   radicale-3.9.hints            plain Radicale 3.9, a normal user (owner_write)
#   hub-partner.hints             the hub as partner "bfu", in its own calendar
#   hub-coordinator.hints         the hub as the coordinator, in a calendar the tester creates
#   hub-coordinator-school.hints  the hub as the coordinator, in the school's calendar
#   hub-partner-view.hints        the hub as partner "kgtu", in its read-only view of bfu's
#                                 calendar (/dav/kgtu/hub-bfu/), holding the partner run's fixtures
#   hub-*.diff                    diff -u of plain Radicale's output against each hub output
#   results.md                    the table of support levels used in docs/interop.md
#   versions.txt                  what was measured with, and when
#
#   bash docs/interop/run.sh            (or `make interop`, which writes elsewhere, see Makefile)
#
# Then compare.py checks every hub run against plain Radicale's run, feature by feature,
# allowing only the differences listed in deliberate.toml; the script exits non-zero (after
# writing every output) when a hub run is worse anywhere else. The tester runs through
# tester.py, which fixes its abort in a calendar that refuses VTODO (see there).
#
# Needs: a Python with the project installed (`pip install -e .`; set PYTHON=... if it is
# not `python3`), and pip access to install caldav-server-tester into a venv of its own
# (TESTER_VENV, default $TMPDIR/calhub-interop-tester), so it never touches the project's.
# Servers listen on 127.0.0.1 only, on free ports, and are stopped (SIGTERM, then SIGKILL
# after 10 s) however the script ends; their data lives in a temporary directory that is
# removed (KEEP_WORK=1 keeps it, with the servers' and the tester's logs).
# Every tester run is bounded by RUN_TIMEOUT seconds (default 300); a whole run takes
# about a minute (a tester run takes 5-10 s; the first install of the tester longer).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
TESTER_VERSION=${TESTER_VERSION:-1.7.0}
# The tester's timezone check reads the event back through vobject, which neither it nor
# caldav installs: without it save-load.event.timezone reads "broken" on every server.
VOBJECT_VERSION=${VOBJECT_VERSION:-0.9.9}
# The client library the tester probes with; pinned, as a new one changes what it measures.
CALDAV_VERSION=${CALDAV_VERSION:-3.6.0}
TESTER_VENV=${TESTER_VENV:-${TMPDIR:-/tmp}/calhub-interop-tester}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
OUT=${OUT:-$HERE}
# The tester skips its /.well-known/caldav check for "127.0.0.1" and "localhost";
# "127.1" is the same loopback address (inet_aton), spelled so that the check runs.
CONNECT_HOST=${CONNECT_HOST:-127.1}

PARTNER=bfu
PARTNER_NAME="БФУ им. И. Канта"
# The second partner reads the first one's calendar through its view /dav/kgtu/hub-bfu/.
VIEWER=kgtu
VIEWER_NAME="КГТУ"
PLAIN_USER=bfu
SCHOOL_NAME="МАОУ гимназия №32"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/calhub-interop.XXXXXX")
PIDS=()

stop_servers() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "server $pid did not stop on SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}

TESTER_PID=

cleanup() {
    if [ -n "$TESTER_PID" ]; then
        kill -TERM "$TESTER_PID" 2>/dev/null || true
        wait "$TESTER_PID" 2>/dev/null || true
        rm -f "$OUT"/*.hints.tmp
    fi
    stop_servers
    if [ -n "${KEEP_WORK:-}" ]; then
        echo "kept the servers' data and logs in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

password() { "$PYTHON" -c 'import secrets; print("t-" + secrets.token_urlsafe(18))'; }

# wait_for FILE REGEX PID: print the first match of REGEX (a sed -E capture) in FILE, waiting
# 30 s at most and failing early if process PID (the server writing FILE) has exited.
wait_for() {
    local file=$1 regex=$2 pid=$3 found
    for _ in $(seq 1 150); do
        found=$(sed -nE "s#.*${regex}.*#\\1#p" "$file" 2>/dev/null | head -n 1)
        if [ -n "$found" ]; then
            printf '%s\n' "$found"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "server exited before it listened; its log:" >&2
            cat "$file" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "server did not listen within 30 s; its log:" >&2
    cat "$file" >&2
    return 1
}

# -- the tester, in a venv of its own ------------------------------------------------------
TESTER="$TESTER_VENV/bin/caldav-server-tester"
if ! "$TESTER" --version 2>/dev/null | grep -q "version ${TESTER_VERSION}\$" \
    || ! "$TESTER_VENV/bin/python" -c 'import vobject' 2>/dev/null \
    || [ "$("$TESTER_VENV/bin/python" -c 'import caldav; print(caldav.__version__)' 2>/dev/null)" != "$CALDAV_VERSION" ]; then
    log "installing caldav-server-tester==$TESTER_VERSION into $TESTER_VENV"
    python3 -m venv "$TESTER_VENV"
    timeout 600 "$TESTER_VENV/bin/pip" install --quiet \
        "caldav-server-tester==$TESTER_VERSION" "vobject==$VOBJECT_VERSION" \
        "caldav==$CALDAV_VERSION"
fi

run_tester() {  # run_tester OUTFILE URL USER PASSWORD [tester options...]
    local out=$1 url=$2 user=$3 pass=$4
    shift 4
    log "caldav-server-tester as $user on $url -> $(basename "$out")"
    # A HOME and environment of its own: no caldav config file or CALDAV_* variable of the
    # caller's can redirect it.
    mkdir -p "$WORK/home"
    # In the background and waited for, so that a SIGTERM or Ctrl+C to this script stops it
    # at once (see cleanup) instead of after the run.
    env -i PATH="/usr/bin:/bin" HOME="$WORK/home" LANG=C.UTF-8 \
        timeout "$RUN_TIMEOUT" "$TESTER_VENV/bin/python" "$HERE/tester.py" --format hints \
        --caldav-url "$url" --caldav-username "$user" --caldav-password "$pass" "$@" \
        >"$out.tmp" 2>"$WORK/$(basename "$out").log" &
    TESTER_PID=$!
    if ! wait "$TESTER_PID"; then
        TESTER_PID=
        rm -f "$out.tmp"
        echo "caldav-server-tester failed or timed out ($out); its log:" >&2
        tail -n 40 "$WORK/$(basename "$out").log" >&2
        return 1
    fi
    TESTER_PID=
    # The servers' ports change from run to run; the stored outputs should not.
    sed -E 's#(http://[0-9.]+):[0-9]+/#\1:PORT/#g' "$out.tmp" >"$out"
    rm -f "$out.tmp"
}

versions() {
    "$PYTHON" -c 'import importlib.metadata as m; print("calhub", m.version("calhub")); print("Radicale", m.version("Radicale"))'
    "$TESTER" --version
    "$TESTER_VENV/bin/python" -c 'import importlib.metadata as m; print("caldav (client used by the tester)", m.version("caldav")); print("vobject (for the tester)", m.version("vobject"))'
}

# -- the hub -------------------------------------------------------------------------------
COORD_PW=$(password)
PARTNER_PW=$(password)
VIEWER_PW=$(password)
PLAIN_PW=$(password)

log "creating a hub in $WORK/hub"
COORD_PW=$COORD_PW "$PYTHON" - "$WORK/hub" "$SCHOOL_NAME" <<'PY'
import os
import sys
from pathlib import Path

from calhub.cli.init import create_hub
from calhub.hub import HubPaths

create_hub(HubPaths(Path(sys.argv[1])), sys.argv[2], "Europe/Kaliningrad", os.environ["COORD_PW"])
PY
printf '%s\n' "$PARTNER_PW" | "$PYTHON" -m calhub partner add "$PARTNER" \
    --name "$PARTNER_NAME" --password-stdin --data "$WORK/hub" >/dev/null
printf '%s\n' "$VIEWER_PW" | "$PYTHON" -m calhub partner add "$VIEWER" \
    --name "$VIEWER_NAME" --password-stdin --data "$WORK/hub" >/dev/null

"$PYTHON" -m calhub serve --data "$WORK/hub" --host 127.0.0.1 --port 0 \
    >"$WORK/hub.out" 2>"$WORK/hub.err" &
PIDS+=($!)
HUB_PORT=$(wait_for "$WORK/hub.out" 'calhub listening on http://127\.0\.0\.1:([0-9]+)/' "${PIDS[-1]}")
HUB_URL="http://$CONNECT_HOST:$HUB_PORT/dav/"
log "hub listening on 127.0.0.1:$HUB_PORT"

# -- plain Radicale, same settings ---------------------------------------------------------
mkdir -p "$WORK/radicale/collections"
# Radicale refuses port 0: take a free loopback port from the kernel and hand it over.
PLAIN_PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PLAIN_PW=$PLAIN_PW "$PYTHON" - "$WORK/radicale/users" "$PLAIN_USER" <<'PY'
import os
import sys

import bcrypt

path, user = sys.argv[1], sys.argv[2]
# The hub's cost (calhub.hub.accounts.DEFAULT_ROUNDS).
hashed = bcrypt.hashpw(os.environ["PLAIN_PW"].encode(), bcrypt.gensalt(rounds=12)).decode()
with open(path, "w", encoding="utf-8") as f:
    f.write(f"{user}:{hashed}\n")
PY
cat >"$WORK/radicale/config" <<EOF
# Plain Radicale with the settings calhub gives its embedded one (calhub/dav/app.py),
# less the hub's own plugins: htpasswd with bcrypt instead of accounts.json, owner_write
# (read everything, write only under one's own principal) instead of the hub's rights.
[server]
hosts = 127.0.0.1:$PLAIN_PORT
max_content_length = 10485760
# What the hub ends up with: Radicale caps max_resource_size to 80 % of max_content_length.
max_resource_size = 8388608
[auth]
type = htpasswd
htpasswd_filename = $WORK/radicale/users
htpasswd_encryption = bcrypt
cache_logins = True
[rights]
type = owner_write
[storage]
filesystem_folder = $WORK/radicale/collections
[web]
type = none
[logging]
mask_passwords = True
EOF
"$PYTHON" -m radicale --config "$WORK/radicale/config" >"$WORK/radicale.out" 2>"$WORK/radicale.err" &
PIDS+=($!)
wait_for "$WORK/radicale.err" "Listening on '127\\.0\\.0\\.1:($PLAIN_PORT)'" "${PIDS[-1]}" >/dev/null
PLAIN_URL="http://$CONNECT_HOST:$PLAIN_PORT/"
log "plain Radicale listening on 127.0.0.1:$PLAIN_PORT"

# -- the runs ------------------------------------------------------------------------------
mkdir -p "$OUT"
run_tester "$OUT/radicale-3.9.hints" "$PLAIN_URL" "$PLAIN_USER" "$PLAIN_PW"
# A partner cannot create calendars: the tester works in the partner's own calendar,
# named by its display name.
# --no-cleanup: the fixtures stay for the view run below (the hub's data is thrown away).
run_tester "$OUT/hub-partner.hints" "$HUB_URL" "$PARTNER" "$PARTNER_PW" \
    --caldav-calendar "$PARTNER_NAME" --no-cleanup
# A view is read-only: the tester cannot store its fixtures there, so it finds the partner
# run's and every probe that writes is refused. compare.py compares only what such a run
# can measure (deliberate.toml, [runs.hub-partner-view]).
run_tester "$OUT/hub-partner-view.hints" "$HUB_URL" "$VIEWER" "$VIEWER_PW" \
    --caldav-calendar "$PARTNER_NAME" --no-cleanup
run_tester "$OUT/hub-coordinator.hints" "$HUB_URL" coordinator "$COORD_PW"
# The coordinator's own test calendar is no hub calendar, so the hub's bookkeeping (index,
# clash checks) never sees those writes. Once more in the school's calendar, through the
# coordinator's view of it, /dav/coordinator/hub-school/ (same display name).
run_tester "$OUT/hub-coordinator-school.hints" "$HUB_URL" coordinator "$COORD_PW" \
    --caldav-calendar "$SCHOOL_NAME"

stop_servers

for account in partner partner-view coordinator coordinator-school; do
    diff -u --label radicale-3.9.hints --label "hub-$account.hints" \
        "$OUT/radicale-3.9.hints" "$OUT/hub-$account.hints" >"$OUT/hub-$account.diff" || true
done
versions >"$OUT/versions.txt"
date -u +"measured %Y-%m-%d %H:%M UTC" >>"$OUT/versions.txt"
log "done: the outputs are in $OUT"
# The table for docs/interop.md, and the verdict: fails when a hub run is worse than plain
# Radicale other than on purpose. COMMITTED: the committed hints plain Radicale's are compared
# with (a change is reported, not failed).
"$PYTHON" "$HERE/compare.py" "$OUT" --committed "${COMMITTED:-$HERE}"
