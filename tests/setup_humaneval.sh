#!/usr/bin/env bash
# Install what the HumanEval-X harness needs beyond g++, javac, node and rustc, when missing:
#   Go + testify (GOPATH layout), for the Go tests;
#   Boost headers (boost::any), for C++ problems 22 and 137;
#   the rand/regex/md5 crate sources, which the harness builds offline once for the Rust problems.
# Debian/Ubuntu (apt-get); as root or with passwordless sudo. Safe to re-run: it installs only what
# is absent. Languages whose toolchain is still missing are skipped by the tests with the reason.
set -euo pipefail
pkgs=()
command -v go >/dev/null 2>&1 || pkgs+=(golang-go)
[ -d /usr/share/gocode/src/github.com/stretchr/testify ] || pkgs+=(golang-github-stretchr-testify-dev)
[ -f /usr/include/boost/any.hpp ] || pkgs+=(libboost-dev)
if command -v rustc >/dev/null 2>&1; then
  for crate in rand regex md5; do
    ls -d /usr/share/cargo/registry/"$crate"-[0-9]* >/dev/null 2>&1 || pkgs+=("librust-$crate-dev")
  done
fi
[ ${#pkgs[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup_humaneval: no apt-get; install ${pkgs[*]} by hand" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >/dev/null 2>&1; then
  echo "setup_humaneval: could not install ${pkgs[*]}; those languages' tests will be skipped" >&2
fi
exit 0
