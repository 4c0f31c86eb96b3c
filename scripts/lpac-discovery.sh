#!/usr/bin/env bash
# Interop: an unmodified lpac discovers an event at simforge's SM-DS (ES11), then downloads
# the discovered event from simforge's SM-DP+ (ES9+), driving a simforge virtual eUICC over
# lpac's stdio APDU driver (`simforge euicc stdio -- lpac …`). Outside CI (it needs an lpac
# binary; build one from https://github.com/estkme-group/lpac with cmake, libcurl and
# libcjson: `cmake -DUSE_SYSTEM_DEPS=ON -DLPAC_WITH_APDU_PCSC=OFF .. && make`).
#
# usage: scripts/lpac-discovery.sh PATH/TO/lpac
# env:   SIMFORGE_BIN (default target/debug/simforge)
# Steps: serve --demo (an SM-DP+ with one released order) and simforge smds (DSauth/DStls of
# the same lab PKI); a virtual eUICC whose root SM-DS is ours; the SM-DP+'s event for that
# eUICC registered over ES12 with the DPtls client certificate (mutual TLS; `curl`);
# `lpac profile discovery -s <SM-DS>` must list the SM-DP+'s address; `lpac profile download
# -s <address> -m <eventId>` installs the profile; `euicc show` lists it.
set -euo pipefail
LPAC=$(realpath "${1:?usage: $0 PATH/TO/lpac}")
BIN=$(realpath "${SIMFORGE_BIN:-target/debug/simforge}")
[ -x "$LPAC" ] || { echo "no lpac at $LPAC" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no $BIN: cargo build -p simforge" >&2; exit 2; }
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for FILE PATTERN
    for _ in $(seq 1 240); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.25; done
    echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1
}
export SIMFORGE_DATA=$DIR/data
DP=$(free_port); DS=$(free_port)

"$BIN" --json serve --demo --demo-profiles 2 --no-admin --listen "127.0.0.1:$DP" \
    >"$DIR/serve.json" 2>"$DIR/serve.err" &
PIDS+=($!)
wait_for "$DIR/serve.json" '"listening"'
json() { python3 -c "import json,sys; d=[json.loads(l) for l in open('$DIR/serve.json') if l.startswith('{')]; m={k:v for x in d for k,v in x.items()}; print(eval(sys.argv[1]))" "$1"; }
PKI=$(json 'm["demo"]["euiccPki"]')
SMDP=$(json 'm["smdpAddress"]')
AC=$(json 'm["demo"]["activationCode"]')
MID=$(printf %s "$AC" | cut -d"\$" -f3)
echo "SM-DP+ $SMDP, released order $MID"

"$BIN" smds --pki "$PKI" --fqdn localhost --listen "127.0.0.1:$DS" \
    --registrant "smdp1=$PKI/smdp/dptls.pem" >"$DIR/smds.out" 2>"$DIR/smds.err" &
PIDS+=($!)
for _ in $(seq 1 240); do (exec 3<>"/dev/tcp/127.0.0.1/$DS") 2>/dev/null && break; sleep 0.25; done
echo "SM-DS localhost:$DS"

E=$DIR/euicc.json
"$BIN" euicc init --pki "$PKI" --root-ds "localhost:$DS" --file "$E" >/dev/null
EID=$(python3 -c "import json; print(json.load(open('$E'))['identity']['eid'])")
echo "eUICC $EID"

# The SM-DP+'s event for this eUICC, over ES12 with the DPtls client certificate.
curl -sS --fail-with-body -k --cert "$PKI/smdp/dptls.pem" --key "$PKI/smdp/dptls.key.pem" \
    -H 'Content-Type: application/json' -H 'X-Admin-Protocol: gsma/rsp/v2.2.0' \
    "https://127.0.0.1:$DS/gsma/rsp2/es12/registerEvent" \
    -d "{\"header\":{\"functionRequesterIdentifier\":\"smdp1\",\"functionCallIdentifier\":\"1\"},\"eid\":\"$EID\",\"rspServerAddress\":\"$SMDP\",\"eventId\":\"$MID\",\"forwardingIndicator\":false}" \
    >"$DIR/register.json"
grep -q '"Executed-Success"' "$DIR/register.json" || { cat "$DIR/register.json" >&2; exit 1; }
echo "ES12 registerEvent: Executed-Success"

# lpac: discovery at our SM-DS, through the virtual eUICC.
"$BIN" euicc stdio --file "$E" -- "$LPAC" profile discovery -s "localhost:$DS" >"$DIR/discovery.out" 2>"$DIR/discovery.err" || true
echo "lpac profile discovery:"
grep '"type":"lpa"' "$DIR/discovery.out" | tail -1
python3 - "$DIR/discovery.out" "$SMDP" <<'PY'
import json, sys
last = [json.loads(l) for l in open(sys.argv[1]) if '"type":"lpa"' in l][-1]
p = last["payload"]
assert p["code"] == 0, f"discovery failed: {p}"
assert p["data"] == [sys.argv[2]], f"expected [{sys.argv[2]!r}], got {p['data']!r}"
PY

# lpac: the discovered event downloaded from our SM-DP+ (matchingId = EventID).
"$BIN" euicc stdio --file "$E" -- "$LPAC" profile download -s "$SMDP" -m "$MID" >"$DIR/download.out" 2>"$DIR/download.err" || true
echo "lpac profile download:"
grep '"type":"lpa"' "$DIR/download.out" | tail -1
python3 - "$DIR/download.out" <<'PY'
import json, sys
last = [json.loads(l) for l in open(sys.argv[1]) if '"type":"lpa"' in l][-1]
assert last["payload"]["code"] == 0, f"download failed: {last}"
PY
"$BIN" euicc show --file "$E"
echo "ok: lpac discovered the event at simforge's SM-DS and downloaded it from simforge's SM-DP+"
