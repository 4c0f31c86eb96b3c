#!/usr/bin/env python3
"""Independent check of personalized SAIP packages with asn1tools (PyPI), not simforge's codec.

Usage:
    SIMFORGE_SAIP_DUMP_DIR=/tmp/perso cargo test -p simforge-saip --test personalize \
        -- --ignored dump_personalized_ts48
    python3 crates/saip/tests/independent/check_personalized.py /tmp/perso

The dump directory holds, per TS.48 profile NAME, NAME.template.der (the template) and
NAME.card.der (the template personalized with generated card data). Every package is decoded
PE by PE with the ASN.1 module ../shared/asn1/PE_Definitions-3.3.1.asn. For each pair: no
template secret (AKA key/OPc, PIN/PUK/ADM, SD key, CDMA data, EF.IMSI/ICCID) of at least 8
octets and more than two distinct octet values occurs anywhere in the personalized package;
every PIN/PUK differs from the template's; every algoParameter is MILENAGE or TUAK with one K;
the header's services name that algorithm and not usim-test-algorithm.
"""
import glob
import os
import sys

import asn1tools

ROOT = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.join(ROOT, "../../../../../shared/asn1/PE_Definitions-3.3.1.asn")


def pes(spec, data):
    out, i = [], 0
    while i < len(data):
        value, used = spec.decode_with_length("ProfileElement", data[i:])
        out.append(value)
        i += used
    return out


def secrets(elements):
    found = []
    for name, v in elements:
        if name == "header":
            found.append(("header iccid", v["iccid"]))
        elif name == "akaParameter" and v["algoConfiguration"][0] == "algoParameter":
            p = v["algoConfiguration"][1]
            found += [("AKA key", p["key"]), ("AKA OPc", p["opc"])]
        elif name == "cdmaParameter":
            for k in ("authenticationKey", "ssd", "hrpdAccessAuthenticationData",
                      "simpleIPAuthenticationData", "mobileIPAuthenticationData"):
                if k in v:
                    found.append(("CDMA " + k, v[k]))
        elif name == "securityDomain":
            for key in v.get("keyList", []):
                for c in key["keyComponents"]:
                    found.append(("SD key", c["keyData"]))
        elif name == "usim":
            for e in v["ef-imsi"]:
                if e[0] == "fillFileContent":
                    found.append(("EF.IMSI", e[1]))
        elif name == "mf":
            for e in v["ef-iccid"]:
                if e[0] == "fillFileContent":
                    found.append(("EF.ICCID", e[1]))
    return found


def codes(elements):
    out = []
    for n, (name, v) in enumerate(elements):
        if name == "pinCodes" and v["pinCodes"][0] == "pinconfig":
            out += [(n, "PIN", c["keyReference"], c["pinValue"]) for c in v["pinCodes"][1]]
        elif name == "pukCodes":
            out += [(n, "PUK", c["keyReference"], c["pukValue"]) for c in v["pukCodes"]]
    return out


def check(spec, name, template, card):
    before, after = pes(spec, template), pes(spec, card)
    problems = []
    for what, value in secrets(before):
        if len(value) >= 8 and len(set(value)) > 2 and value in card:
            problems.append(f"template {what} remains")
    for (n, kind, ref, old), (_, _, ref2, new) in zip(codes(before), codes(after)):
        if ref != ref2 or old == new:
            problems.append(f"PE {n} {kind} {ref:#x} kept the template value")
    algos = [v["algoConfiguration"][1] for k, v in after
             if k == "akaParameter" and v["algoConfiguration"][0] == "algoParameter"]
    ids = {a["algorithmID"] for a in algos}
    keys = {a["key"] for a in algos}
    if not algos or len(ids) != 1 or len(keys) != 1 or ids - {1, 2}:
        problems.append(f"NAA algorithms {ids}, {len(keys)} distinct keys")
    services = after[0][1]["eUICC-Mandatory-services"]
    if "usim-test-algorithm" in services:
        problems.append("header still requires usim-test-algorithm")
    want = "milenage" if ids == {1} else None
    if want and want not in services:
        problems.append("header does not require milenage")
    if ids == {2} and not ({"tuak128", "tuak256"} & set(services)):
        problems.append("header does not require TUAK")
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    spec = asn1tools.compile_files(MODULE, "der")
    failures, n = 0, 0
    for t in sorted(glob.glob(os.path.join(sys.argv[1], "*.template.der"))):
        name = os.path.basename(t)[: -len(".template.der")]
        with open(t, "rb") as f:
            template = f.read()
        with open(t.replace(".template.der", ".card.der"), "rb") as f:
            card = f.read()
        problems = check(spec, name, template, card)
        n += 1
        failures += bool(problems)
        print(f"{name}: {'ok' if not problems else '; '.join(problems)}")
    print(f"{n} packages checked, {failures} with problems")
    sys.exit(1 if failures or n == 0 else 0)


if __name__ == "__main__":
    main()
