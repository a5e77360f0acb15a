#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl) are installed.
#
# The tests start their own throwaway cluster from these binaries (see
# tests/pg_server.py), so this script never starts the packaged cluster.
# Quiet and idempotent when the binaries are present. If they are missing it
# installs Debian's `postgresql` package; if that is impossible it fails under
# CI=true and only warns otherwise (the PostgreSQL tests then skip).
set -euo pipefail

# shellcheck source=scripts/debian-package.sh
source "$(dirname "$0")/debian-package.sh"

have_server_binaries() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [[ -x "$bin/initdb" && -x "$bin/pg_ctl" ]]; then
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if have_server_binaries; then
    exit 0
fi

if install_debian_package postgresql ensure-postgres && have_server_binaries; then
    exit 0
fi

message="ensure-postgres: PostgreSQL server binaries (initdb, pg_ctl) not found and could not be installed"
if [[ "${CI:-}" == "true" ]]; then
    echo "error: $message; CI=true requires them (install Debian's 'postgresql' package)" >&2
    exit 1
fi
echo "warning: $message; PostgreSQL tests will be skipped" >&2
