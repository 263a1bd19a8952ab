#!/usr/bin/env bash
# Installs what `make demo` and `make test` need that a fresh machine may lack, and says
# clearly what is missing when it cannot be installed. Idempotent: a second run does nothing.
set -euo pipefail

need_pkgs=()
# command -> Debian package
check() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 || need_pkgs+=("$pkg")
}
check redis-server redis-server   # chunkcache: the resp adapter's contract tests
check strace strace               # trace: conformance with strace --inject
check hyperfine hyperfine         # trace: speed side by side with strace
check chromium chromium           # trace: the space-time diagram checked in a real browser
check gcc gcc                     # trace: the C programs its tests trace
check sha256sum coreutils         # cross_test.sh
check curl curl                   # check_docs.sh: the README's server example
check python3 python3             # check_docs.sh: a free port
check sqlite3 sqlite3             # disk/mount: a real database on the lying disk
check fusermount3 fuse3           # disk/mount: FUSE mounts without root (root mounts directly)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "deps: installing Debian packages: ${need_pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

missing=()
command -v go >/dev/null 2>&1 || missing+=("go (https://go.dev/dl/, expected at /usr/local/go/bin)")
command -v cargo >/dev/null 2>&1 || missing+=("cargo (Rust toolchain, https://rustup.rs) for conformance/dbctl/rust")
command -v g++ >/dev/null 2>&1 || missing+=("g++ (Debian package g++) for conformance/dbctl/cpp")
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: missing and not installable by this script:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi
