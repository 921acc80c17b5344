"""A small local facts API that fails a seeded fraction of requests: the flaky endpoint of lesson 1.

    GET /cat/fact   -> {"fact": "...", "length": 42}      (the shape of the public cat-facts API)
    GET /dog/fact   -> {"fact": "...", "length": 37}
    GET /health     -> {"ok": true}

Each path has its own random sequence seeded by `--seed`, so a fresh endpoint fails the same requests
every time: the retry lesson behaves the same on every machine, offline. A failed request answers
503 Service Unavailable, like an overloaded public API.

    python -m coursekit.services.facts_api --port 8765 --failure-rate 0.5 --seed 181
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from coursekit import config
from coursekit.services import lifecycle

FACTS = {
    "cat": [
        "A group of cats is called a clowder.",
        "Cats sleep for around 13 to 16 hours a day.",
        "A cat has five toes on each front paw, but only four on each back paw.",
        "Cats can rotate their ears 180 degrees.",
        "A cat's nose print is unique, much like a human fingerprint.",
        "Cats walk like camels and giraffes: both right feet, then both left feet.",
    ],
    "dog": [
        "A dog's sense of smell is tens of thousands of times stronger than a human's.",
        "Dogs have three eyelids.",
        "The Basenji is known as the barkless dog.",
        "Dalmatian puppies are born completely white.",
        "A dog's nose print is unique, much like a human fingerprint.",
        "Greyhounds can reach speeds of about 70 km/h.",
    ],
}

DEFAULT_FAILURE_RATE = 0.5
DEFAULT_SEED = 181  # cat: fail, fail, ok | fail, ok;  dog: fail, fail, ok  (see the unit test)


class FlakyFacts:
    """Decides, request by request, whether a path fails; one seeded random sequence per path."""

    def __init__(self, failure_rate: float = DEFAULT_FAILURE_RATE, seed: int = DEFAULT_SEED) -> None:
        if not 0 <= failure_rate < 1:
            raise ValueError(f"failure rate must be in [0, 1), got {failure_rate}")
        self.failure_rate = failure_rate
        self.seed = seed
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()

    def answer(self, kind: str) -> tuple[int, dict]:
        with self._lock:
            rng = self._rngs.setdefault(kind, random.Random(f"{self.seed}:{kind}"))
            fails = rng.random() < self.failure_rate
            fact = rng.choice(FACTS[kind])
        if fails:
            return 503, {"error": f"simulated outage of the {kind} facts API, try again"}
        return 200, {"fact": fact, "length": len(fact)}


def make_server(host: str, port: int, facts: FlakyFacts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            kind = self.path.strip("/").split("/")[0]
            body: dict[str, object]
            if self.path == "/health":
                status, body = 200, {"ok": True}
            elif kind in FACTS and self.path.rstrip("/").endswith("/fact"):
                status, body = facts.answer(kind)
            else:
                status, body = 404, {"error": f"no such path {self.path}; try /cat/fact or /dog/fact"}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            print(f"{time.strftime('%H:%M:%S')} {self.address_string()} {format % args}", flush=True)

    return ThreadingHTTPServer((host, port), Handler)


SERVICE = "facts-api"


def ensure_running(*, restart: bool = False) -> str:
    """Start the local facts API in the background (a fresh one with `restart`); return its base URL.

    A fresh endpoint starts its seeded sequences from the beginning, so the stage run that restarts
    it sees the same failures every time.
    """
    cfg = config.current()
    command = [sys.executable, "-m", "coursekit.services.facts_api", "--host", cfg.host, "--port", str(cfg.facts_port)]
    command += ["--failure-rate", os.environ.get("COURSE_FACTS_FAILURE_RATE", str(DEFAULT_FAILURE_RATE))]
    command += ["--seed", os.environ.get("COURSE_FACTS_SEED", str(DEFAULT_SEED))]
    service = lifecycle.Service(
        name=SERVICE,
        what="the local facts API",
        host=cfg.host,
        port=cfg.facts_port,
        port_variable="COURSE_FACTS_PORT",
        command=command,
        ready=lambda: lifecycle.answers(f"{cfg.facts_url}/health"),
        timeout=20,
    )
    lifecycle.ensure(service, restart=restart)
    return cfg.facts_url


def main() -> None:
    parser = argparse.ArgumentParser(description="The course's flaky local facts API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--failure-rate", type=float, default=DEFAULT_FAILURE_RATE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    server = make_server(args.host, args.port, FlakyFacts(args.failure_rate, args.seed))
    print(f"facts API on http://{args.host}:{args.port} (failure rate {args.failure_rate}, seed {args.seed})")
    server.serve_forever()


if __name__ == "__main__":
    main()
