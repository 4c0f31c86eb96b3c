#!/usr/bin/env python3
"""The hostile and the unlucky part of scripts/soak.sh, against 127.0.0.1 only, until a deadline.

Every second, a round of:
  * bad requests: malformed JSON to ES9+, an ES9+ body over the 64 KiB limit, an ES2+ call with
    a wrong API key (the real key must keep working: the lockout is per credential), an unknown
    path, plain bytes that are not TLS;
  * every 10th round, an ES2+ DownloadOrder by profile type then CancelOrder (Available) with the
    real key, both logged to the event log like `simforge load`'s steps;
and all the time SLOW slow clients (default 6), each sending a complete request header with
Content-Length 60000 and then one body byte every 5 s until the server closes the connection;
how long the server let each one hang on is reported (it must be bounded by its deadlines: one
still connected at the end after more than --max-hold seconds counts as never disconnected).

Writes one JSON summary line on stdout at the end. Standard library only.
"""

import argparse
import http.client
import json
import socket
import ssl
import threading
import time

ES2 = "/gsma/rsp2/es2plus/"
ES9 = "/gsma/rsp2/es9plus/"


def tls_context():
    # The lab DPtls is issued for "localhost" under the lab CI; the noise does not care who
    # answers, only how.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Noise:
    def __init__(self, a):
        self.a = a
        self.key = open(a.api_key_file).read().strip()
        self.ctx = tls_context()
        self.lock = threading.Lock()
        self.events = open(a.events, "a")
        self.counts = {}
        self.slow_holds = []
        self.n = 0

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def log(self, v):
        v["t"] = int(time.time() * 1000)
        with self.lock:
            self.events.write(json.dumps(v) + "\n")
            self.events.flush()

    def conn(self, timeout=10):
        return http.client.HTTPSConnection(
            "127.0.0.1", self.a.port, context=self.ctx, timeout=timeout
        )

    def post(self, path, body, headers):
        c = self.conn()
        try:
            c.request("POST", path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, data
        finally:
            c.close()

    def es2(self, function, body, key=None):
        self.n += 1
        body["header"] = {
            "functionRequesterIdentifier": "demo",
            "functionCallIdentifier": f"soak-noise-{int(time.time() * 1000)}-{self.n}",
        }
        return self.post(
            ES2 + function,
            json.dumps(body),
            {
                "Content-Type": "application/json",
                "X-Admin-Protocol": "gsma/rsp/v2.5.0",
                "X-Api-Key": key or self.key,
            },
        )

    def bad_round(self):
        es9h = {
            "Content-Type": "application/json",
            "X-Admin-Protocol": "gsma/rsp/v2.2.2",
            "User-Agent": "gsma-rsp-lpad",
        }
        cases = [
            ("es9-malformed", lambda: self.post(ES9 + "initiateAuthentication", "{not json", es9h)),
            ("es9-wrong-types", lambda: self.post(
                ES9 + "authenticateClient",
                json.dumps({"transactionId": 7, "authenticateServerResponse": ["x"]}),
                es9h,
            )),
            ("es9-too-large", lambda: self.post(
                ES9 + "initiateAuthentication", "{\"x\":\"" + "A" * 200_000 + "\"}", es9h
            )),
            ("es2-wrong-key", lambda: self.es2(
                "downloadOrder", {"profileType": "demo"}, key="soak-wrong-key-" + str(self.n)
            )),
            ("unknown-path", lambda: self.post("/gsma/rsp2/es9plus/nothingHere", "{}", es9h)),
        ]
        for name, f in cases:
            try:
                status, _ = f()
                self.count(f"{name}:{status}")
            except Exception as e:  # a connection the server closed is an answer too
                self.count(f"{name}:{type(e).__name__}")
        try:
            with socket.create_connection(("127.0.0.1", self.a.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(100)
            self.count("not-tls:closed")
        except Exception as e:
            self.count(f"not-tls:{type(e).__name__}")

    def order_and_cancel(self):
        try:
            status, data = self.es2("downloadOrder", {"profileType": "demo"})
            v = json.loads(data or b"{}")
            fes = v.get("header", {}).get("functionExecutionStatus", {})
            iccid = v.get("iccid")
            if status != 200 or fes.get("status") != "Executed-Success" or not iccid:
                code = fes.get("statusCodeData", {})
                self.log({"step": "downloadOrder", "ok": False, "source": "noise",
                          "code": f"{code.get('subjectCode')}/{code.get('reasonCode')} HTTP {status}"})
                self.count("order:failed")
                return
            self.log({"step": "allocate", "ok": True, "source": "noise", "iccid": iccid})
            status, data = self.es2(
                "cancelOrder", {"iccid": iccid, "finalProfileStatusIndicator": "Available"}
            )
            v = json.loads(data or b"{}")
            ok = status == 200 and v.get("header", {}).get("functionExecutionStatus", {}).get(
                "status") == "Executed-Success"
            self.log({"step": "cancel", "ok": ok, "source": "noise", "iccid": iccid})
            self.count("order+cancel:" + ("ok" if ok else "failed"))
        except Exception as e:
            self.log({"step": "downloadOrder", "ok": False, "source": "noise",
                      "code": "transport " + type(e).__name__})
            self.count(f"order:{type(e).__name__}")

    def slow_client(self):
        while time.time() < self.a.until:
            started = time.time()
            try:
                raw = socket.create_connection(("127.0.0.1", self.a.port), timeout=10)
                s = self.ctx.wrap_socket(raw, server_hostname="localhost")
                s.settimeout(10)
                s.sendall(
                    b"POST /gsma/rsp2/es9plus/initiateAuthentication HTTP/1.1\r\n"
                    b"Host: localhost\r\nContent-Type: application/json\r\n"
                    b"X-Admin-Protocol: gsma/rsp/v2.2.2\r\nContent-Length: 60000\r\n\r\n{"
                )
                while time.time() < self.a.until:
                    time.sleep(5)
                    s.sendall(b" ")
                s.close()
                # Still connected when the run ended: a defect only if it was held longer than
                # any deadline of the server would allow.
                if time.time() - started > self.a.max_hold:
                    self.count("slow:outlived-the-run")
                else:
                    self.count("slow:open-at-the-end")
            except Exception:
                held = time.time() - started
                with self.lock:
                    self.slow_holds.append(held)
                self.count("slow:closed-by-server")
                time.sleep(1)

    def run(self):
        threads = [threading.Thread(target=self.slow_client, daemon=True)
                   for _ in range(self.a.slow)]
        for t in threads:
            t.start()
        rnd = 0
        while time.time() < self.a.until:
            rnd += 1
            self.bad_round()
            if rnd % 10 == 0:
                self.order_and_cancel()
            time.sleep(1)
        for t in threads:
            t.join(timeout=15)
        holds = sorted(self.slow_holds)
        print(json.dumps({
            "rounds": rnd,
            "counts": dict(sorted(self.counts.items())),
            "slow_clients_closed": len(holds),
            "slow_hold_max_s": round(holds[-1], 1) if holds else None,
            "slow_hold_p50_s": round(holds[len(holds) // 2], 1) if holds else None,
        }))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--api-key-file", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--until", type=float, required=True, help="unix time to stop at")
    p.add_argument("--slow", type=int, default=6)
    p.add_argument("--max-hold", type=float, default=90.0,
                   help="seconds a slow client may be held before it counts as never disconnected")
    Noise(p.parse_args()).run()


if __name__ == "__main__":
    main()
