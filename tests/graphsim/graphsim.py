#!/usr/bin/env python3
"""graphsim: a Microsoft Graph v1.0 simulator for testing `licensed`.

  graphsim.py --tenant TENANT.json --dir DIR [--port 0] [--imds-port 0]
              [--faults FAULTS.json] [--page-size N]

Serves, on 127.0.0.1 only:
  HTTPS (--port): POST /{tenant}/oauth2/v2.0/token, /v1.0/... (graphapi.py)
                  and the /_sim/ control endpoints;
  HTTP (--imds-port): GET /metadata/identity/oauth2/token (Azure IMDS)
                  and /_sim/.
At start it makes a throwaway CA and server certificate in DIR (DIR/ca.pem
is the client's ca_file), then writes DIR/ports.json and prints
"graphsim ready https=P1 http=P2". Every request is logged as one JSON line
in DIR/requests.jsonl. SIGTERM/SIGINT dump the tenant to
DIR/tenant.out.json and exit 0. See README.md for the file formats.

HTTP details that matter for client timings (shared/PITFALLS.md): accepted
sockets get TCP_NODELAY, each response goes out in one write, every
response has a Content-Length, and connections are kept alive.
"""

import argparse
import email.utils
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import auth  # noqa: E402
import certs  # noqa: E402
from catalog import Catalog  # noqa: E402
from faults import Faults  # noqa: E402
from graphapi import (JSON_CT, Answer, Call, GraphApi, error_body,  # noqa
                      throttle_body)
from tenant import GraphError, load_file  # noqa: E402

MAX_BODY = 16 << 20
TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
IMDS_PATH = "/metadata/identity/oauth2/token"
LOGGED_HEADERS = ("Authorization", "ConsistencyLevel", "Metadata",
                  "Content-Type", "client-request-id")
FAULT_TEXT = {      # status -> (Graph error code, message) for status faults
    500: ("generalException", "An unspecified error has occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. "
          "You may repeat the request after a delay, which may be specified "
          "in a Retry-After header."),
    504: ("timeout", "The operation timed out before it could be "
          "completed."),
}


class Dropped:
    """Answer of a drop fault: close without answering (RST if reset), or
    after a status line that is not HTTP (garbage)."""

    def __init__(self, reset, garbage=False):
        self.reset = reset
        self.garbage = garbage


def atomic_write_json(path, obj):
    """Write JSON via a temporary file and rename. Compact: the C encoder
    only serves indent=None, and dumps of 100k users must stay quick."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)


class RequestLog:
    """DIR/requests.jsonl: one line per request, flushed at once."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.seq = 0
        self.f = open(path, "a", encoding="utf-8")

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def write(self, entry):
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()

    def reset(self):
        with self.lock:
            self.f.truncate(0)
            self.f.seek(0)

    def close(self):
        with self.lock:
            self.f.close()


def logged_headers(headers):
    out = {}
    for name in LOGGED_HEADERS:
        value = headers.get(name.lower())
        if value is not None:
            # Authorization is reduced to its scheme: no secrets in logs.
            out[name] = value.split(" ", 1)[0] if name == "Authorization" \
                else value
    return out


def logged_body(raw, content_type):
    """Request body for the log: JSON decoded, form fields decoded with
    client_secret / client_assertion redacted, other text as is."""
    if not raw:
        return None
    if isinstance(raw, (dict, list)):
        return raw
    text = raw.decode("utf-8", errors="replace")
    if "x-www-form-urlencoded" in (content_type or ""):
        form = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        for k in ("client_secret", "client_assertion"):
            if k in form:
                form[k] = "<redacted>"
        return form
    try:
        return json.loads(text)
    except ValueError:
        return text[:4096]


class GraphSim:
    """Request processing shared by both listeners."""

    def __init__(self, tenant, directory, faults_doc, page_size):
        self.lock = threading.RLock()
        self.dir = directory
        self.tenant = tenant
        self.page_size = page_size
        self.faults = Faults(faults_doc, page_size)
        self.tokens = auth.Tokens()
        workdir = os.path.join(directory, "work")
        os.makedirs(workdir, exist_ok=True)
        self.tokensvc = auth.TokenService(tenant, self.tokens, auth.CertStore(
            workdir, tenant.search_dirs + [directory]))
        self.api = GraphApi(self)
        self.log = RequestLog(os.path.join(directory, "requests.jsonl"))
        self.ports = {}
        self.inflight = 0       # requests received, not yet answered/logged
        self.inflight_lock = threading.Lock()

    # ---- entry point for one HTTP request --------------------------------

    def dispatch(self, h, body):
        """Answer (or Dropped) for one parsed HTTP request of handler h."""
        call = Call(h.command, h.path, dict(h.headers.items()), body,
                    "%s://%s" % (h.server.scheme, h.headers.get(
                        "Host", "127.0.0.1:%d" % h.server.server_port)))
        if call.path.startswith("/_sim/"):
            return self.control(call)
        with self.inflight_lock:
            self.inflight += 1
        try:
            return self._dispatch(call, h)
        finally:
            with self.inflight_lock:
                self.inflight -= 1

    def _dispatch(self, call, h):
        call.seq = self.log.next_seq()
        with self.lock:
            fired = self.faults.request(call.method, call.target)
        if "drop" in fired:
            spec = fired["drop"].spec
            if spec.get("apply"):       # the request takes effect, unanswered
                self.process(call, fired, h.server.scheme)
            ans = Dropped(bool(spec.get("reset")),
                          bool(spec.get("garbage")))
        else:
            ans = self.process(call, fired, h.server.scheme)
            if "truncate" in fired:
                ans.truncate = True
        self._log(call, h, ans, fired)
        return ans

    def _log(self, call, h, ans, fired):
        dropped = isinstance(ans, Dropped)
        entry = {
            "seq": call.seq, "t_mono": h.t_mono, "t_wall": h.t_wall,
            "port": h.server.scheme, "method": call.method,
            "path": call.target, "headers": logged_headers(call.headers),
            "body": logged_body(call.body, call.header("Content-Type")),
            "status": None if dropped else ans.status,
            "retry_after": None if dropped else ans.headers.get(
                "Retry-After"),
            "faults": sorted({f.name for f in fired.values()} | (
                {ans.fault} if not dropped and ans.fault else set())),
            "duration_ms": round((time.monotonic() - h.t_mono) * 1000, 3),
        }
        if not dropped and ans.unsupported:
            self._loud(entry, call.method, call.target)
        self.log.write(entry)

    @staticmethod
    def _loud(entry, method, target):
        entry["unsupported"] = True
        print("graphsim: UNSUPPORTED %s %s" % (method, target),
              file=sys.stderr, flush=True)

    def log_inner(self, outer, item, res, ans=None, t=None):
        """One log line for an inner $batch request."""
        t_mono, t_wall = t or (time.monotonic(), time.time())
        entry = {
            "seq": self.log.next_seq(), "t_mono": t_mono, "t_wall": t_wall,
            "port": "https", "batch": outer.seq, "batch_item": item["id"],
            "method": item["method"].upper(),
            "path": "/v1.0/" + item["url"].lstrip("/"), "url": item["url"],
            "headers": logged_headers({k.lower(): v for k, v in (
                item.get("headers") or {}).items()}),
            "body": item.get("body"), "status": res["status"],
            "retry_after": res.get("headers", {}).get("Retry-After"),
            "faults": [ans.fault] if ans is not None and ans.fault else [],
        }
        if ans is not None and ans.unsupported:
            self._loud(entry, entry["method"], entry["path"] + " (in $batch)")
        self.log.write(entry)

    # ---- fault answers, throttling, auth ---------------------------------

    def process(self, call, fired=None, scheme="https"):
        """Status faults, rate limits, then the endpoint. Inner $batch
        requests (fired None) draw their own faults here."""
        if fired is None:
            with self.lock:
                fired = self.faults.request(call.method, call.target,
                                            inner=True)
        if "latency" in fired:
            time.sleep(fired["latency"].spec.get("ms", 0) / 1000.0)
        if "status" in fired:
            if fired["status"].spec.get("apply"):
                # GRAPH.md 6.1: an error answer does not prove the write
                # failed; "apply" runs the request before answering.
                self.endpoint(call, scheme)
            return self.fault_answer(fired["status"], call)
        # GRAPH.md 5: a batch costs what its requests cost; the envelope
        # itself is not rate limited.
        if call.path != "/v1.0/$batch":
            with self.lock:
                limit, wait = self.faults.throttle(call.method, call.target)
            if limit is not None:
                ans = self.throttled(limit, wait, call)
                ans.fault = limit.name
                return ans
        return self.endpoint(call, scheme)

    @staticmethod
    def fault_error(fault):
        """GraphError for a status / member_page fault."""
        status = int(fault.spec.get("status", 503))
        headers = {}
        if fault.spec.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.spec["retry_after"])
        if status == 429:
            e = GraphError(429, "TooManyRequests", "", headers,
                           body=throttle_body())
        else:
            code, msg = FAULT_TEXT.get(status, ("UnknownError", "Fault."))
            e = GraphError(status, fault.spec.get("code", code),
                           fault.spec.get("message", msg), headers)
        e.fault = fault.name
        return e

    def fault_answer(self, fault, call):
        e = self.fault_error(fault)
        if call.path.startswith("/v1.0/"):
            body = e.body or error_body(e.code, e.message, call)
        else:           # token / IMDS endpoints answer in the OAuth shape
            body = {"error": "temporarily_unavailable" if e.status in (
                429, 503) else "server_error", "error_description": e.message}
        ans = Answer(e.status, body, e.headers)
        ans.fault = e.fault
        return ans

    def throttled(self, limit, wait, call):
        """429 of a rate-limit fault: the sample body of GRAPH.md 6.1 and
        the identity headers of GRAPH.md 6.3."""
        kind = "Write" if call.method in ("POST", "PATCH", "PUT",
                                          "DELETE") else "Read"
        token = (call.header("Authorization") or " ").split(" ", 1)[1]
        app = self.tokens.table.get(token.strip(), {}).get("client_id", "")
        headers = {
            "x-ms-throttle-scope": "Tenant_Application/%s/%s/%s" % (
                kind, app, self.tenant.tenant_id),
            "x-ms-throttle-information": "WriteLimitExceeded"
            if kind == "Write" else "ResourceUnitLimitExceeded",
        }
        value = limit.retry_after(wait)
        if value is not None:
            headers["Retry-After"] = value
        if call.path.startswith("/v1.0/"):
            return Answer(429, throttle_body(), headers)
        return Answer(429, {"error": "temporarily_unavailable",
                            "error_description": "Too many requests."},
                      headers)

    def endpoint(self, call, scheme):
        if scheme == "http":
            return self._imds(call)
        m = TOKEN_PATH.match(call.path)
        if m:
            return self._token(call, urllib.parse.unquote(m.group(1)))
        if not call.path.startswith("/v1.0/"):
            return Answer(400, error_body("BadRequest", "Resource not found "
                                          "for the segment '%s'." %
                                          call.path.strip("/").split("/")[0],
                                          call), unsupported=True)
        if not call.is_inner:
            with self.lock:
                err = self.tokens.check(call.header("Authorization"),
                                        self.faults.token_expiry())
            if err:
                return Answer(401, error_body("InvalidAuthenticationToken",
                                              err, call),
                              {"WWW-Authenticate": 'Bearer realm="", '
                               'authorization_uri="https://login.microsoft'
                               'online.com/common/oauth2/authorize", '
                               'client_id="%s"' % auth.GRAPH_APP_ID})
        if call.path == "/v1.0/$batch":
            return self.api.handle(call)        # takes the lock per item
        with self.lock:
            return self.api.handle(call)

    def _token(self, call, tenant_ref):
        if call.method != "POST":
            return Answer(405, {"error": "invalid_request",
                                "error_description": "Use POST."},
                          unsupported=True)
        text = (call.body or b"").decode("utf-8", errors="replace")
        form = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        with self.lock:
            status, body = self.tokensvc.token_endpoint(
                tenant_ref, form, call.header("Authorization"), call.base,
                self.own_resources())
        return Answer(status, body)

    def _imds(self, call):
        if call.path != IMDS_PATH or call.method != "GET":
            return Answer(404, {"error": "not_found",
                                "error_description": "Not found."},
                          unsupported=True)
        with self.lock:
            status, body = self.tokensvc.imds(
                call.query, call.header("Metadata"), self.own_resources())
        return Answer(status, body)

    def own_resources(self):
        """The simulator's base URLs, accepted as the Graph resource."""
        return tuple("https://%s:%d" % (h, self.ports.get("https", 0))
                     for h in ("127.0.0.1", "localhost"))

    # ---- control endpoints (not logged) ----------------------------------

    def control(self, call):
        name = call.path[len("/_sim/"):]
        with self.lock:
            if (call.method, name) == ("GET", "state"):
                return Answer(200, self.tenant.dump())
            if (call.method, name) == ("GET", "faults"):
                return Answer(200, self.faults.doc)
            if (call.method, name) == ("POST", "faults"):
                try:
                    doc = json.loads(call.body or b"{}")
                    self.faults = Faults(doc, self.page_size)
                except (ValueError, KeyError, TypeError, re.error) as e:
                    return Answer(400, {"error": str(e)})
                return Answer(200, doc)
            if (call.method, name) == ("POST", "dump"):
                return Answer(200, {"path": self.dump()})
            if (call.method, name) == ("POST", "reset-log"):
                self.log.reset()
                return Answer(204)
            if (call.method, name) == ("POST", "members"):
                try:
                    self.tenant.set_members(json.loads(call.body or b"{}"))
                except ValueError as e:
                    return Answer(400, {"error": str(e)})
                self.api.member_cache.clear()
                return Answer(204)
        if (call.method, name) == ("GET", "inflight"):
            # Outside the lock: a $batch being processed holds it per item.
            with self.inflight_lock:
                return Answer(200, {"inflight": self.inflight})
        return Answer(404, {"error": "unknown control endpoint"})

    def dump(self):
        path = os.path.join(self.dir, "tenant.out.json")
        with self.lock:
            atomic_write_json(path, self.tenant.dump())
        return path


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; each answer written in one send."""

    protocol_version = "HTTP/1.1"
    server_version = "graphsim"
    sys_version = ""
    timeout = 120               # idle keep-alive connections are closed

    def handle_one_request(self):
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        self.t_mono, self.t_wall = time.monotonic(), time.time()
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        try:
            body = self._read_body()
        except ValueError as e:
            self.close_connection = True
            self.send_error(400, str(e))
            return
        try:
            ans = self.server.sim.dispatch(self, body)
        except Exception:           # a simulator bug: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            ans = Answer(500, error_body("generalException", "graphsim "
                                         "internal error (see its stderr)."))
        self._respond(ans)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:             # ends at the 0 chunk; bounded by MAX_BODY
                size = int(self.rfile.readline(1024).split(b";")[0], 16)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                             b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _respond(self, ans):
        if isinstance(ans, Dropped):
            self.close_connection = True
            if ans.garbage:
                self.wfile.write(b"HTTP/1.1 abc Nonsense\r\n\r\n")
                self.wfile.flush()
            if ans.reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            return
        if isinstance(ans.body, (dict, list)):
            payload = json.dumps(ans.body, ensure_ascii=False,
                                 separators=(",", ":")).encode()
        else:
            payload = ans.body or b""
        headers = {"Date": email.utils.formatdate(usegmt=True),
                   "Server": self.server_version}
        if payload:
            headers["Content-Type"] = JSON_CT if self.path.startswith(
                "/v1.0/") else "application/json; charset=utf-8"
        if self.path.startswith("/v1.0/"):
            rid = str(uuid.uuid4())
            headers["request-id"] = rid
            headers["client-request-id"] = self.headers.get(
                "client-request-id", rid)
        headers.update(ans.headers)
        headers["Content-Length"] = str(len(payload))
        truncate = getattr(ans, "truncate", False)
        if truncate:
            self.close_connection = True
        if self.close_connection:
            headers["Connection"] = "close"
        head = "HTTP/1.1 %d %s\r\n%s\r\n" % (
            ans.status, self.responses.get(ans.status, ("",))[0],
            "".join("%s: %s\r\n" % kv for kv in headers.items()))
        if truncate:
            payload = payload[:len(payload) // 2]
        try:
            self.wfile.write(head.encode("latin-1") + payload)
        except OSError:
            self.close_connection = True

    def log_message(self, fmt, *args):
        """Quiet: requests.jsonl is the log."""


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, sim, port, ssl_ctx):
        self.sim = sim
        self.ssl_ctx = ssl_ctx
        self.scheme = "https" if ssl_ctx else "http"
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        # HTTPServer.server_bind would call getfqdn(): a DNS look-up.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_ctx is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        request.settimeout(10)
        try:
            conn = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except OSError:
            pass
        finally:
            conn.close()


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Microsoft Graph v1.0 "
                                 "simulator for licensed tests")
    ap.add_argument("--tenant", required=True, help="tenant JSON file")
    ap.add_argument("--dir", required=True, help="work dir: certs, log, ...")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port (0: any)")
    ap.add_argument("--imds-port", type=int, default=0,
                    help="plain HTTP port for IMDS (0: any)")
    ap.add_argument("--faults", help="faults JSON file")
    ap.add_argument("--page-size", type=int, default=None,
                    help="force pages of at most N items")
    ap.add_argument("--csv", help="SKU table (default: shared/data CSV)")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    try:
        tenant = load_file(args.tenant, Catalog(args.csv), [args.dir])
        faults_doc = None
        if args.faults:
            with open(args.faults, encoding="utf-8") as f:
                faults_doc = json.load(f)
        sim = GraphSim(tenant, args.dir, faults_doc, args.page_size)
    except KeyError as e:
        print("graphsim: %s: missing key %s" % (args.tenant, e),
              file=sys.stderr)
        return 2
    except (OSError, ValueError, TypeError) as e:
        print("graphsim: %s" % e, file=sys.stderr)
        return 2
    try:
        paths = certs.make_server_certs(args.dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(paths["cert"], paths["key"])
        https = Server(sim, args.port, ctx)
        plain = Server(sim, args.imds_port, None)
    except (OSError, RuntimeError, ssl.SSLError) as e:
        print("graphsim: %s" % e, file=sys.stderr)
        return 2
    sim.ports = {"https": https.server_port, "http": plain.server_port}
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, args=(0.2,),
                                daemon=True) for s in (https, plain)]
    for t in threads:
        t.start()
    atomic_write_json(os.path.join(args.dir, "ports.json"),
                      dict(sim.ports, pid=os.getpid()))
    print("graphsim ready https=%d http=%d" % (sim.ports["https"],
                                               sim.ports["http"]), flush=True)
    while not stop.wait(1.0):
        pass
    for s in (https, plain):
        s.shutdown()
        s.server_close()
    sim.dump()
    sim.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
