#!/usr/bin/env bash
# deps.sh: make sure the Debian packages needed to build, run and test Baove
# are installed.  Fast no-op when everything is present (it is called by
# run.sh, test.sh and `make build` on every invocation).
#
# When root (developer machines and CI run as root) it installs what is
# missing with apt-get; otherwise it prints the exact sudo command and fails,
# because silently continuing would only produce a confusing build error later.
set -euo pipefail

# Build, run and test dependencies.  libclang-rt-14-dev is not in the brief's
# list but is required: it carries clang's ASan/UBSan/LSan runtimes and is only
# a *Recommends* of clang, so `--no-install-recommends` would otherwise leave
# the sanitizer build unable to link on a fresh machine.
packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libpq-dev libjansson-dev libuv1-dev libcurl4-openssl-dev
  libsodium-dev libssl-dev libcmocka-dev libxlsxwriter-dev
  postgresql-15 postgresql-contrib
  docker-compose wrk valgrind libfuzzer-14-dev
  pgbouncer pgbackrest
  chromium unzip
)

# Node.js/npm may come from a non-Debian source (the machine image ships
# node 20 + npm 11); installing Debian's npm on top would fight with it.  Only
# ask for the Debian packages when either command is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  # ${Status} is e.g. "install ok installed" (or "hold ok installed"); anything
  # else (not-installed, config-files, half-configured) counts as missing.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    *" ok installed") ;;
    *) missing+=("$pkg") ;;
  esac
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: missing Debian packages: ${missing[*]}" >&2

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# Installing postgresql-15 may create and start Debian's own 'main' cluster on
# port 5432.  That is harmless: Baove always uses its own cluster (scripts/pg.sh).
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "deps.sh: installed ${missing[*]}" >&2
