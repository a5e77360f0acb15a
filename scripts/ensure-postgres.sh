#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl) are installed.
#
# The tests start their own throwaway cluster from these binaries (see
# tests/pg_server.py), so this script never starts the packaged cluster.
# Quiet and idempotent when the binaries are present. If they are missing it
# installs Debian's `postgresql` package; if that is impossible it fails under
# CI=true and only warns otherwise (the PostgreSQL tests then skip).
set -euo pipefail

have_server_binaries() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [[ -x "$bin/initdb" && -x "$bin/pg_ctl" ]]; then
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

install_server_package() {
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || return 1
        sudo=(sudo -n)
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "ensure-postgres: installing the Debian postgresql package" >&2
    # `sudo env` because sudo drops DEBIAN_FRONTEND from the environment.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

if have_server_binaries; then
    exit 0
fi

if install_server_package && have_server_binaries; then
    exit 0
fi

message="ensure-postgres: PostgreSQL server binaries (initdb, pg_ctl) not found and could not be installed"
if [[ "${CI:-}" == "true" ]]; then
    echo "error: $message; CI=true requires them (install Debian's 'postgresql' package)" >&2
    exit 1
fi
echo "warning: $message; PostgreSQL tests will be skipped" >&2
