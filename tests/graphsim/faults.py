"""Fault injection: the faults document of README.md and its engine.

A document is {"seed": INT, "page_size": INT, "faults": [FAULT, ...]}.
Every FAULT has a "type" and may narrow what it hits with "path" (a regex
searched in path+query; default "^/v1\\.0/", so the token and IMDS
endpoints are only hit when named), "method", "after" (let the first N
matching requests pass), "count" (fire at most N times) and "probability"
(0..1, drawn from a generator seeded with "seed"). Types:

  latency      {"ms": N}                       sleep before answering
  status       {"status": 429|500|503|504|..., "retry_after": S|null,
                "code": ..., "message": ..., "apply": false}
                                               answer with that error (apply:
                                               the request takes effect first)
  rate_limit   {"kind": "read"|"write"|"all", "rps": R, "burst": B,
                "retry_after": "fractional"|"integer"|"none",
                "penalize": true}              token bucket; 429 when empty
  truncate     {}                              full Content-Length, half body
  drop         {"reset": false, "apply": false, "garbage": false}
                                               close without answering (reset:
                                               with a TCP RST; apply: after
                                               the request took effect;
                                               garbage: after a status line
                                               that is not HTTP)
  token_expiry {"after_seconds": S} | {"after_requests": N}
  member_page  {"group": ID, "page": K, "status": 503, "retry_after": S}
  batch_envelope {"status": 424}               envelope status of a $batch
                                               holding an inner 429
Not thread-safe: callers hold the server lock.
"""

import math
import random
import re
import time

TYPES = ("latency", "status", "rate_limit", "truncate", "drop",
         "token_expiry", "member_page", "batch_envelope")
DEFAULT_PATH = r"^/v1\.0/"
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


class Fault:
    def __init__(self, spec, index):
        if not isinstance(spec, dict) or spec.get("type") not in TYPES:
            raise ValueError("faults[%d]: type must be one of %s" % (
                index, ", ".join(TYPES)))
        self.spec = spec
        self.type = spec["type"]
        self.name = spec.get("name", self.type)
        self.path = re.compile(spec.get("path", DEFAULT_PATH))
        self.method = spec.get("method")
        self.after = int(spec.get("after", 0))
        self.count = spec.get("count")
        self.probability = spec.get("probability")
        self.seen = 0
        self.fired = 0
        if self.type == "rate_limit":
            self.rps = float(spec["rps"])
            self.burst = float(spec.get("burst", max(1.0, self.rps)))
            self.tokens = self.burst
            self.stamp = time.monotonic()
            if spec.get("retry_after", "fractional") not in (
                    "fractional", "integer", "none"):
                raise ValueError("faults[%d]: retry_after must be fractional,"
                                 " integer or none" % index)
        if self.type == "status":
            int(spec["status"])

    def matches(self, method, target):
        return ((self.method is None or self.method == method) and
                self.path.search(target) is not None)

    def fire(self, rng):
        """Count a matching request; True if the fault applies to it."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def take(self, now):
        """Token bucket: None if a token was available, else seconds until
        one is. Throttled requests still count against usage when
        "penalize" (GRAPH.md 6.1), down to one bucket of debt."""
        self.tokens = min(self.burst,
                          self.tokens + (now - self.stamp) * self.rps)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        if self.spec.get("penalize", True):
            self.tokens = max(self.tokens - 1.0, -self.burst)
        return (1.0 - self.tokens) / self.rps

    def retry_after(self, wait):
        """Retry-After header value for a wait in seconds, or None."""
        style = self.spec.get("retry_after", "fractional")
        if style == "none":
            return None
        if style == "integer":
            return str(max(1, math.ceil(wait)))
        # rounded up, so that waiting exactly this long always suffices
        return "%.3f" % max(math.ceil(wait * 1000) / 1000, 0.001)


class Faults:
    """The active fault set; replaced whole by POST /_sim/faults."""

    def __init__(self, doc=None, page_size=None):
        doc = doc or {}
        if not isinstance(doc, dict):
            raise ValueError("the faults document must be a JSON object")
        self.doc = doc
        self.rng = random.Random(doc.get("seed", 0))
        self.page_size = doc.get("page_size", page_size)
        if self.page_size is not None and (
                not isinstance(self.page_size, int) or self.page_size < 1):
            raise ValueError("page_size must be a positive integer")
        self.faults = [Fault(s, i) for i, s in
                       enumerate(doc.get("faults", []))]

    def request(self, method, target, inner=False):
        """Faults that fire for one request, by type (first of each type).
        Inner $batch requests have no connection of their own: truncate and
        drop never apply to them."""
        fired = {}
        for f in self.faults:
            if f.type not in ("latency", "status", "truncate", "drop"):
                continue
            if inner and f.type in ("truncate", "drop"):
                continue
            if f.type not in fired and f.matches(method, target) and \
                    f.fire(self.rng):
                fired[f.type] = f
        return fired

    def throttle(self, method, target):
        """(fault, wait seconds) of the first rate limit that refuses this
        request, or (None, None)."""
        kind = "write" if method in WRITE_METHODS else "read"
        now = time.monotonic()
        for f in self.faults:
            if f.type != "rate_limit" or \
                    f.spec.get("kind", "all") not in ("all", kind):
                continue
            if not f.matches(method, target) or not f.fire(self.rng):
                continue
            wait = f.take(now)
            if wait is not None:
                return f, wait
        return None, None

    def token_expiry(self):
        """(after_seconds, after_requests) of the token_expiry fault."""
        for f in self.faults:
            if f.type == "token_expiry":
                return (f.spec.get("after_seconds"),
                        f.spec.get("after_requests"))
        return None

    def member_page(self, method, target, group_id, page):
        """The member_page fault for this group and page, if it fires."""
        for f in self.faults:
            if (f.type == "member_page" and
                    str(f.spec.get("group", "")).lower() == group_id and
                    int(f.spec.get("page", 1)) == page and
                    f.matches(method, target) and f.fire(self.rng)):
                return f
        return None

    def batch_envelope(self):
        for f in self.faults:
            if f.type == "batch_envelope":
                return int(f.spec.get("status", 424))
        return None
