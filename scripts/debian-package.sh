# Sourced by the ensure-*.sh scripts: install one Debian package, or fail quietly.
#
# install_debian_package NAME TAG installs NAME with apt-get (as root, or through
# passwordless sudo), printing one line prefixed by TAG; it returns 1 when neither
# root, sudo nor apt-get is available, so the caller decides what a missing tool means.

install_debian_package() {
    local name="$1" tag="$2" sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || return 1
        sudo=(sudo -n)
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "$tag: installing the Debian $name package" >&2
    # `sudo env` because sudo drops DEBIAN_FRONTEND from the environment.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$name" >/dev/null
}
