"""An application-like load on the sample project's ``users`` / ``orders`` tables.

Several client threads, each with its own psycopg connection, run short transactions at a steady
paced rate: primary-key reads, inserts and updates of users and orders. Every transaction's
latency and every error is recorded.

What a client writes depends on the release of the application that is deployed (``Deployment``),
the way a real rolling deploy works: the driver switches the deployed release between migration
steps, exactly when a deploy pipeline would.

- ``old``  (release 1.0.0): reads and writes ``first_name``, ``last_name``;
- ``dual`` (release 1.1.0): writes ``first_name``, ``last_name`` AND ``full_name``;
- ``new``  (releases 1.2.0, 1.3.0): reads and writes ``full_name`` only; never names the old
  columns (the 1.2.0 expand made them nullable, so its inserts work before they are dropped).

Queries name their columns (no ``SELECT *``): a prepared ``SELECT *`` breaks with "cached plan must
not change result type" as soon as any column is dropped, which no migration tool can prevent.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field

import psycopg

PROFILES = ("old", "dual", "new")

# release of the application -> what its code reads and writes
RELEASE_PROFILE = {"1.0.0": "old", "1.1.0": "dual", "1.2.0": "new", "1.3.0": "new"}

_READ_USER = {
    "old": "SELECT id, email, first_name, last_name FROM users WHERE id = %s",
    "dual": "SELECT id, email, first_name, last_name, full_name FROM users WHERE id = %s",
    "new": "SELECT id, email, full_name FROM users WHERE id = %s",
}
_INSERT_USER = {
    "old": "INSERT INTO users (email, first_name, last_name) VALUES (%(email)s, %(first)s, %(last)s)",
    "dual": "INSERT INTO users (email, first_name, last_name, full_name) "
            "VALUES (%(email)s, %(first)s, %(last)s, %(full)s)",
    "new": "INSERT INTO users (email, full_name) VALUES (%(email)s, %(full)s)",
}
_UPDATE_USER = {
    "old": "UPDATE users SET first_name = %(first)s, last_name = %(last)s WHERE id = %(id)s",
    "dual": "UPDATE users SET first_name = %(first)s, last_name = %(last)s, full_name = %(full)s "
            "WHERE id = %(id)s",
    "new": "UPDATE users SET full_name = %(full)s WHERE id = %(id)s",
}
_READ_ORDER = "SELECT id, user_id, total FROM orders WHERE id = %s"
_INSERT_ORDER = "INSERT INTO orders (user_id, total) VALUES (%s, %s)"
_UPDATE_ORDER = "UPDATE orders SET total = total + 1 WHERE id = %s"

# transaction kind -> weight
MIX = {"read_user": 40, "read_order": 20, "update_user": 15, "insert_user": 10,
       "insert_order": 10, "update_order": 5}


class Deployment:
    """The release of the application currently running; the driver changes it between steps."""

    def __init__(self, release: str = "1.0.0") -> None:
        self._lock = threading.Lock()
        self.release = release

    def deploy(self, release: str) -> None:
        with self._lock:
            self.release = release

    @property
    def profile(self) -> str:
        return RELEASE_PROFILE[self.release]


@dataclass
class Sample:
    t: float  # seconds since the load started, at the start of the transaction
    latency: float  # seconds, BEGIN to COMMIT (or to the error)
    kind: str
    ok: bool


@dataclass
class ClientError:
    t: float
    kind: str
    release: str
    sqlstate: str | None
    message: str


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    errors: list[ClientError] = field(default_factory=list)
    reconnects: int = 0

    def window(self, start: float, end: float) -> "LoadResult":
        return LoadResult([s for s in self.samples if start <= s.t <= end],
                          [e for e in self.errors if start <= e.t <= end], self.reconnects)


class Load:
    """``clients`` threads doing ``rate`` transactions per second in total until ``stop()``."""

    def __init__(self, url: str, *, clients: int, rate: float, max_user_id: int,
                 max_order_id: int, deployment: Deployment, client_timeout_ms: int = 10000,
                 seed: int = 1) -> None:
        self.url = url
        self.clients = clients
        self.interval = clients / rate  # seconds between two transactions of one client
        self.max_user_id = max_user_id
        self.max_order_id = max_order_id
        self.deployment = deployment
        self.client_timeout_ms = client_timeout_ms
        self.seed = seed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._results = [LoadResult() for _ in range(clients)]
        self.t0 = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def start(self) -> "Load":
        self.t0 = time.perf_counter()
        for i in range(self.clients):
            th = threading.Thread(target=self._client, args=(i,), daemon=True, name=f"client-{i}")
            th.start()
            self._threads.append(th)
        return self

    def stop(self) -> LoadResult:
        self._stop.set()
        for th in self._threads:
            th.join()
        out = LoadResult()
        for r in self._results:
            out.samples.extend(r.samples)
            out.errors.extend(r.errors)
            out.reconnects += r.reconnects
        out.samples.sort(key=lambda s: s.t)
        out.errors.sort(key=lambda e: e.t)
        return out

    # -- one client ---------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, options=f"-c statement_timeout={self.client_timeout_ms}",
                               connect_timeout=5)

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        result = self._results[index]
        kinds = list(MIX)
        weights = list(MIX.values())
        conn = None
        # stagger the clients so they do not all fire on the same tick
        next_at = self.now() + self.interval * index / self.clients
        while not self._stop.is_set():
            delay = next_at - self.now()
            if delay > 0:
                time.sleep(delay)
            next_at += self.interval
            if conn is None or conn.closed:
                try:
                    conn = self._connect()
                except psycopg.Error as e:
                    t = self.now()
                    result.errors.append(ClientError(t, "connect", self.deployment.release,
                                                     getattr(e, "sqlstate", None), _first_line(e)))
                    result.samples.append(Sample(t, 0.0, "connect", False))
                    result.reconnects += 1
                    time.sleep(0.1)
                    continue
            kind = rng.choices(kinds, weights)[0]
            release = self.deployment.release
            profile = RELEASE_PROFILE[release]
            t = self.now()
            start = time.perf_counter()
            try:
                with conn.transaction():
                    self._run(conn, kind, profile, rng, index)
                result.samples.append(Sample(t, time.perf_counter() - start, kind, True))
            except psycopg.Error as e:
                result.samples.append(Sample(t, time.perf_counter() - start, kind, False))
                result.errors.append(ClientError(t, kind, release, getattr(e, "sqlstate", None),
                                                 _first_line(e)))
                if conn.broken:
                    conn = None

        if conn is not None:
            conn.close()

    def _run(self, conn: psycopg.Connection, kind: str, profile: str, rng: random.Random,
             index: int) -> None:
        uid = rng.randint(1, self.max_user_id)
        if kind == "read_user":
            conn.execute(_READ_USER[profile], (uid,)).fetchall()
        elif kind == "read_order":
            conn.execute(_READ_ORDER, (rng.randint(1, self.max_order_id),)).fetchall()
        elif kind == "update_user":
            first, last = _name(rng)
            conn.execute(_UPDATE_USER[profile],
                         {"id": uid, "first": first, "last": last, "full": f"{first} {last}"})
        elif kind == "insert_user":
            first, last = _name(rng)
            email = f"live-{index}-{rng.getrandbits(48):x}@example.com"
            conn.execute(_INSERT_USER[profile],
                         {"email": email, "first": first, "last": last, "full": f"{first} {last}"})
        elif kind == "insert_order":
            conn.execute(_INSERT_ORDER, (uid, rng.randint(1, 500)))
        elif kind == "update_order":
            conn.execute(_UPDATE_ORDER, (rng.randint(1, self.max_order_id),))
        else:  # pragma: no cover
            raise ValueError(kind)


_FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Leslie", "Niklaus"]
_LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
         "Lamport", "Wirth"]


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_FIRST), rng.choice(_LAST)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
