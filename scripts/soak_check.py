#!/usr/bin/env python3
"""Judges a scripts/soak.sh run: explains every profile's final state from the event log.

Inputs: the SM-DP+ database after the server stopped (read-only), the event log written by
`simforge load --event-log` and scripts/soak_noise.py, the resource samples, the noise summary.

Rules (a profile's state must follow from what the clients saw; a call whose answer was lost
to a SIGKILL counts as "in flight"):
  available    never ordered, or its order was cancelled (Available), or an order whose answer
               was lost was rolled back;
  allocated    a DownloadOrder whose answer was lost (at most as many as such failures);
  confirmed/linked  not used by the load: a failure;
  released     ordered (ConfirmOrder with releaseFlag) and no download succeeded for it;
  downloaded / installed / error
               a download was attempted with its matchingId; a successful download's eUICC is
               the one the profile is bound to;
  unavailable  never (the noise cancels to Available): a failure.
and globally: no ICCID downloaded successfully twice; memory and file descriptors of the server
flat (the last lives of the process no larger than the first ones by more than a margin); slow
clients closed by the server (none outlived the run).
Exit 0 when everything is explained, 1 otherwise. Standard library only.
"""

import argparse
import collections
import csv
import json
import sqlite3
import sys


def load_events(path):
    ev = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                ev.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"event log line {n} is not JSON (a writer died mid-line?)")
                ev.append({"step": "garbled"})
    return ev


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--resources", required=True)
    p.add_argument("--noise")
    p.add_argument("--kills", type=int, default=0)
    p.add_argument("--max-slow-hold", type=float, default=120.0)
    p.add_argument("--ignore", action="append", default=[],
                   help="ICCIDs outside the load (the profile `serve --demo` released)")
    a = p.parse_args()

    ev = load_events(a.events)
    failures = []

    ordered = {}  # iccid -> matchingId (ConfirmOrder answered)
    by_mid = {}
    allocated_noise = set()
    cancelled = set()
    order_lost = 0  # DownloadOrder failures that are not SGP.22 refusals (answer lost)
    confirm_failed = set()
    downloads_ok = collections.defaultdict(list)  # iccid -> [eid]
    attempts = collections.Counter()  # matchingId -> attempts
    steps = collections.Counter()
    locked_out = 0  # the valid API key refused with 429 (someone else's failures locked it out)
    for e in ev:
        step = e.get("step")
        steps[(step, e.get("ok"))] += 1
        if step == "order" and e.get("ok"):
            ordered[e["iccid"]] = e.get("matchingId")
            by_mid[e.get("matchingId")] = e["iccid"]
        elif step == "downloadOrder" and not e.get("ok"):
            code = str(e.get("code", ""))
            if "429" in code:
                locked_out += 1
            if code.startswith("transport") or code.startswith("HTTP 5"):  # answer lost
                order_lost += 1
        elif step == "confirmOrder" and not e.get("ok"):
            confirm_failed.add(e.get("iccid"))
        elif step == "allocate":
            allocated_noise.add(e["iccid"])
        elif step == "cancel":
            if e.get("ok"):
                cancelled.add(e["iccid"])
            else:
                allocated_noise.add(e["iccid"])
        elif step == "download":
            attempts[e.get("matchingId")] += 1
            if e.get("ok"):
                downloads_ok[e["iccid"]].append(e.get("eid"))

    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT iccid, state, eid, matching_id FROM rsp_profiles "
        "WHERE operator_id = (SELECT id FROM operators WHERE name = 'demo')"
    ).fetchall()
    states = collections.Counter(r[1] for r in rows)
    unexplained_allocated = 0
    for iccid, state, eid, mid in rows:
        if iccid in a.ignore:
            continue
        mid = mid or ordered.get(iccid)
        tried = attempts.get(mid, 0) if mid else 0
        ok_eids = downloads_ok.get(iccid, [])
        if state == "available":
            if iccid in ordered and iccid not in cancelled:
                failures.append(f"{iccid}: available although its order was confirmed")
            if ok_eids:
                failures.append(f"{iccid}: available although downloaded by {ok_eids}")
        elif state == "allocated":
            if iccid in allocated_noise or iccid in confirm_failed:
                continue
            unexplained_allocated += 1
        elif state == "released":
            if iccid not in ordered and iccid not in confirm_failed:
                failures.append(f"{iccid}: released but no order for it in the log")
            if ok_eids:
                failures.append(f"{iccid}: released although downloaded by {ok_eids}")
        elif state in ("downloaded", "installed", "error"):
            if not tried:
                failures.append(f"{iccid}: {state} but no download attempt with its matchingId")
            if ok_eids and eid and eid not in ok_eids:
                failures.append(f"{iccid}: bound to {eid}, downloaded by {ok_eids}")
        else:
            failures.append(f"{iccid}: unexpected state {state}")
    if unexplained_allocated > order_lost:
        failures.append(
            f"{unexplained_allocated} allocated profiles but only {order_lost} DownloadOrder "
            "answers were lost"
        )
    if locked_out:
        failures.append(f"the valid ES2+ API key was refused with 429 {locked_out} times")
    twice = {i: e for i, e in downloads_ok.items() if len(e) > 1}
    for iccid, eids in twice.items():
        failures.append(f"ICCID {iccid} downloaded {len(eids)} times: {eids}")

    # Resources: per life of the server process, the largest RSS and descriptor count.
    lives = collections.OrderedDict()
    with open(a.resources) as f:
        for r in csv.DictReader(f):
            life = lives.setdefault(r["pid"], {"rss": [], "fds": [], "t": []})
            life["rss"].append(int(r["rss_kb"]))
            life["fds"].append(int(r["fds"]))
            life["t"].append(int(r["t_ms"]))
    summary_lives = []
    for pid, life in lives.items():
        summary_lives.append({
            "pid": int(pid),
            "samples": len(life["rss"]),
            "rss_mib_max": round(max(life["rss"]) / 1024, 1),
            "rss_mib_last": round(life["rss"][-1] / 1024, 1),
            "fds_max": max(life["fds"]),
            "fds_last": life["fds"][-1],
        })
    full = [s for s in summary_lives if s["samples"] >= 3] or summary_lives
    if full:
        first_rss = full[0]["rss_mib_max"]
        first_fds = full[0]["fds_max"]
        for s in full[1:]:
            if s["rss_mib_max"] > 2 * first_rss + 64:
                failures.append(f"server memory grew: {s['rss_mib_max']} MiB against {first_rss} MiB")
            if s["fds_max"] > first_fds + 256:
                failures.append(f"server descriptors grew: {s['fds_max']} against {first_fds}")
        # Within one long life (no kills): the last third against the first third.
        for s, life in zip(summary_lives, lives.values()):
            n = len(life["rss"])
            if n >= 30:
                head = max(life["rss"][: n // 3])
                tail = max(life["rss"][-(n // 3):])
                if tail > 1.5 * head + 32 * 1024:
                    failures.append(
                        f"pid {s['pid']}: memory grew within one life: {head // 1024} → {tail // 1024} MiB"
                    )

    noise = None
    if a.noise:
        try:
            with open(a.noise) as f:
                noise = json.loads(f.read().strip().splitlines()[-1])
        except (OSError, IndexError, json.JSONDecodeError) as e:
            failures.append(f"no noise summary: {e}")
    if noise:
        if noise["counts"].get("slow:outlived-the-run"):
            failures.append(
                f"{noise['counts']['slow:outlived-the-run']} slow clients were never disconnected"
            )
        hold = noise.get("slow_hold_max_s")
        if hold is not None and hold > a.max_slow_hold:
            failures.append(f"a slow client held its connection {hold} s (> {a.max_slow_hold} s)")
        # A refused connection is the server being down (a SIGKILL and its restart), not a
        # live server resetting an oversized request.
        reset = sum(v for k, v in noise["counts"].items()
                    if k.startswith("es9-too-large:") and not k.split(":")[1].isdigit()
                    and "Refused" not in k)
        if reset:
            failures.append(f"{reset} bodies over the limit got a reset connection, not an answer")
        wrong_key_ok = noise["counts"].get("es2-wrong-key:200", 0)
        if wrong_key_ok:
            failures.append(f"{wrong_key_ok} ES2+ calls with a wrong API key answered 200")

    report = {
        "profiles": len(rows),
        "states": dict(sorted(states.items())),
        "downloads_ok": sum(len(v) for v in downloads_ok.values()),
        "download_attempts": sum(attempts.values()),
        "orders_confirmed": len(ordered),
        "orders_cancelled": len(cancelled),
        "order_answers_lost": order_lost,
        "kills": a.kills,
        "steps": {f"{k[0]}:{'ok' if k[1] else 'failed'}": v for k, v in sorted(
            steps.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))},
        "server_lives": summary_lives,
        "noise": noise,
        "violations": len(failures),
    }
    print(json.dumps(report, indent=1))
    for f in failures[:50]:
        print("VIOLATION:", f)
    if failures:
        print(f"soak: {len(failures)} violation(s)")
        return 1
    if report["downloads_ok"] == 0:
        print("soak: no download succeeded")
        return 1
    print(f"soak: every one of {len(rows)} profiles explained; no ICCID downloaded twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
