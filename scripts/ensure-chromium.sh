#!/usr/bin/env bash
# Make sure a headless Chromium is installed: the tests render the HTML reports in it.
#
# Quiet and idempotent when the browser is present. If it is missing it installs
# Debian's `chromium` package; if that is impossible it fails under CI=true and only
# warns otherwise (the browser tests then skip).
set -euo pipefail

# shellcheck source=scripts/debian-package.sh
source "$(dirname "$0")/debian-package.sh"

have_browser() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
        || command -v google-chrome >/dev/null 2>&1
}

if have_browser; then
    exit 0
fi

if install_debian_package chromium ensure-chromium && have_browser; then
    exit 0
fi

message="ensure-chromium: no Chromium found and it could not be installed"
if [[ "${CI:-}" == "true" ]]; then
    echo "error: $message; CI=true requires it (install Debian's 'chromium' package)" >&2
    exit 1
fi
echo "warning: $message; the HTML report tests will be skipped" >&2
