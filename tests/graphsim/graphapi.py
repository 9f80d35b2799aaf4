"""The Graph v1.0 endpoints the simulator serves, and JSON $batch.

Each handler takes a Call (one request: an HTTP request or one item of a
$batch) and returns an Answer. Behaviour follows shared/GRAPH.md; the
section is cited where a choice is made. Anything outside that set is
answered 400 (or 405) in Graph's error shape and flagged "unsupported" so
the request log and stderr show it. Handlers run with the server lock
held; batch() takes it per item itself.
"""

import base64
import binascii
import json
import os
import random
import re
import time
import urllib.parse
import uuid

from catalog import is_guid
from tenant import (GROUP_PROPS, SKU_PROPS, USER_PROPS, GraphError,
                    bad_request, iso_now)

JSON_CT = ("application/json;odata.metadata=minimal;odata.streaming=true;"
           "IEEE754Compatible=false;charset=utf-8")
MAX_TOP = 999                 # GRAPH.md 3.1 / 3.2: page size max 999
DEFAULT_PAGE = 100            # GRAPH.md 3.1 / 3.2: default page size
MAX_BATCH = 20                # GRAPH.md 5
ANY_SKU_RE = re.compile(
    r"^\s*assignedLicenses/any\(\s*(\w+)\s*:\s*(\w+)/skuId\s+eq\s+"
    r"([0-9A-Fa-f-]{36})\s*\)\s*$")
ROUTES = [(re.compile(p), m) for p, m in (
    (r"^subscribedSkus$", {"GET": "subscribed_skus"}),
    (r"^subscribedSkus/[^/]+$", {"GET": "subscribed_sku"}),
    (r"^groups/[^/]+$", {"GET": "get_group"}),
    (r"^groups/[^/]+/(members|transitiveMembers)(/[^/]+)?$",
     {"GET": "members"}),
    (r"^users$", {"GET": "list_users"}),
    (r"^users/[^/]+$", {"GET": "get_user", "PATCH": "patch_user"}),
    (r"^users/[^/]+/assignLicense$", {"POST": "assign_license"}),
    (r"^\$batch$", {"POST": "batch"}),
)]
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class Call:
    """One Graph request; body is raw bytes (HTTP) or a parsed object
    (a $batch item, is_inner)."""

    def __init__(self, method, target, headers, body, base, is_inner=False):
        self.method = method
        self.target = target
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.query = dict(urllib.parse.parse_qsl(split.query,
                                                 keep_blank_values=True))
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.base = base
        self.is_inner = is_inner

    def header(self, name):
        return self.headers.get(name.lower())

    def eventual(self):
        return (self.header("ConsistencyLevel") or "").lower() == "eventual"

    def json(self):
        if self.is_inner:
            return self.body
        try:
            return json.loads(self.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "BadRequest", "Unable to read JSON request "
                             "payload. Please ensure Content-Type header is "
                             "set and payload is of valid JSON format.") \
                from None


class Answer:
    """status, JSON-able body (None: no body), headers; flags for the log."""

    def __init__(self, status, body=None, headers=None, unsupported=False):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.unsupported = unsupported
        self.fault = None


class Unsupported(GraphError):
    """A request the simulator does not implement (logged loudly)."""


def error_body(code, message, call=None):
    rid = str(uuid.uuid4())
    crid = (call.header("client-request-id") if call else None) or rid
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": iso_now()[:-1],
                                     "request-id": rid,
                                     "client-request-id": crid}}}


def throttle_body():
    """The throttling body of shared/data (GRAPH.md 6.1), fresh ids."""
    with open(os.path.join(EXAMPLES, "throttling-429.response.json"),
              encoding="utf-8") as f:
        body = json.load(f)
    inner = body["error"]["innerError"]
    inner["date"] = iso_now()[:-1]
    inner["request-id"] = str(uuid.uuid4())
    return body


def _quote(value):
    return urllib.parse.quote(value, safe="$,()':/@=")


def _link(call, path, extra):
    params = [(k, v) for k, v in call.query.items() if k != "$skiptoken"]
    params += list(extra.items())
    return "%s%s?%s" % (call.base, path, "&".join(
        "%s=%s" % (k, _quote(v)) for k, v in params))


def _skiptoken(state):
    raw = json.dumps(state, separators=(",", ":")).encode()
    return "gs1" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_skiptoken(call, key, fields):
    """Paging state from $skiptoken, checked against this list's key and
    the field types it must hold ({"o": int, ...}); page "p" >= 1."""
    tok = call.query.get("$skiptoken")
    if tok is None:
        return None
    try:
        if not tok.startswith("gs1"):
            raise ValueError(tok)
        raw = tok[3:]
        state = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw)
                                                               % 4)))
        if not isinstance(state, dict) or state.get("k") != key or not all(
                isinstance(state.get(f), t) for f, t in fields.items()) or \
                not isinstance(state.get("p"), int) or state["p"] < 1:
            raise ValueError(tok)
        return state
    except (ValueError, binascii.Error):
        raise bad_request("Invalid $skiptoken value.") from None


def ru_cost(base, call):
    """x-ms-resource-unit of GRAPH.md 6.2: base cost, $select -1,
    $top < 20 -1, never below 1."""
    cost = base
    if "$select" in call.query:
        cost -= 1
    top = call.query.get("$top", "")
    if top.isdigit() and int(top) < 20:
        cost -= 1
    return max(1, cost)


class GraphApi:
    def __init__(self, sim):
        self.sim = sim          # tenant, faults, process(), log_inner()
        self.batch_no = 0
        self.member_cache = {}

    @property
    def tenant(self):
        return self.sim.tenant

    # ---- routing ---------------------------------------------------------

    def handle(self, call):
        """Answer a /v1.0 request (auth already checked)."""
        segs = [urllib.parse.unquote(s) for s in
                call.path[len("/v1.0/"):].split("/")]
        try:
            return self._route(call, segs)
        except GraphError as e:
            ans = Answer(e.status,
                         e.body or error_body(e.code, e.message, call),
                         e.headers, unsupported=isinstance(e, Unsupported))
            ans.fault = e.fault
            return ans

    def _route(self, call, segs):
        rest = call.path[len("/v1.0/"):]
        for pattern, methods in ROUTES:
            if pattern.match(rest):
                name = methods.get(call.method)
                if name is None:
                    raise self._not_allowed()
                return getattr(self, name)(call, segs)
        raise Unsupported(400, "BadRequest", "Resource not found for the "
                          "segment '%s'." % segs[-1])

    @staticmethod
    def _not_allowed():
        return Unsupported(405, "Request_BadRequest", "Specified HTTP method "
                           "is not allowed for the request target.")

    # ---- query options ---------------------------------------------------

    @staticmethod
    def _options(call, allowed):
        for k in call.query:
            if k.startswith("$") and k not in allowed:
                raise Unsupported(400, "Request_UnsupportedQuery",
                                  "The query option '%s' is not supported by"
                                  " the simulator on this resource." % k)

    @staticmethod
    def _select(call, props, type_name):
        raw = call.query.get("$select")
        if raw is None:
            return None
        sel = [p.strip() for p in raw.split(",") if p.strip()]
        for p in sel:
            if p not in props:
                raise Unsupported(400, "Request_BadRequest", "Could not find "
                                  "a property named '%s' on type "
                                  "'microsoft.graph.%s'." % (p, type_name))
        return sel

    def _page_size(self, call):
        """$top (1..999, else 400 as Graph does) capped by a forced page
        size (--page-size or the faults document)."""
        size = DEFAULT_PAGE
        raw = call.query.get("$top")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
                # Text quoted from Graph in public code (steampipe azuread).
                raise bad_request("Invalid page size specified: '%s'. Must be"
                                  " between 1 and 999 inclusive." % raw,
                                  "Request_UnsupportedQuery")
            size = int(raw)
        forced = self.sim.faults.page_size
        return min(size, forced) if forced else size

    @staticmethod
    def _count_wanted(call):
        """$count=true counts only in an advanced query; without
        ConsistencyLevel it is silently ignored (GRAPH.md 3.3)."""
        raw = call.query.get("$count")
        if raw not in (None, "true", "false"):
            raise bad_request("Invalid value '%s' for $count." % raw)
        return raw == "true" and call.eventual()

    @staticmethod
    def _context(call, name, select, entity=False):
        ctx = "%s/v1.0/$metadata#%s" % (call.base, name)
        if select:
            ctx += "(%s)" % ",".join(select)
        return ctx + ("/$entity" if entity else "")

    def _ok(self, body, cost, call, status=200):
        return Answer(status, body, {"x-ms-resource-unit": str(
            ru_cost(cost, call))})

    # ---- subscribedSkus (GRAPH.md 2) --------------------------------------

    def subscribed_skus(self, call, segs):
        # Only $select is supported on this API (GRAPH.md 2).
        self._options(call, ("$select",))
        sel = self._select(call, SKU_PROPS, "subscribedSku")
        value = [self._pick(s.render(self.tenant), sel)
                 for s in self.tenant.skus.values()]
        return self._ok({"@odata.context": self._context(
            call, "subscribedSkus", sel), "value": value}, 3, call)

    def subscribed_sku(self, call, segs):
        self._options(call, ("$select",))
        sel = self._select(call, SKU_PROPS, "subscribedSku")
        for s in self.tenant.skus.values():
            obj = s.render(self.tenant)
            if obj["id"] == segs[1].lower():
                out = {"@odata.context": self._context(
                    call, "subscribedSkus", sel, entity=True)}
                out.update(self._pick(obj, sel))
                return self._ok(out, 1, call)
        raise GraphError(404, "Request_ResourceNotFound", "Resource '%s' does"
                         " not exist or one of its queried reference-property"
                         " objects are not present." % segs[1])

    @staticmethod
    def _pick(obj, sel):
        return {k: obj[k] for k in sel} if sel else obj

    # ---- groups (GRAPH.md 3.1) --------------------------------------------

    def get_group(self, call, segs):
        self._options(call, ("$select",))
        g = self.tenant.group(segs[1])
        sel = self._select(call, GROUP_PROPS, "group")
        out = {"@odata.context": self._context(call, "groups", sel, True)}
        out.update(self.tenant.render_group(g, sel))
        return self._ok(out, 1, call)

    def _member_ids(self, gid, transitive, cast):
        """Member ids of a group, optionally only users or only groups;
        cached per (group, kind); POST /_sim/members clears the cache."""
        key = (gid, transitive, cast)
        cache = self.member_cache
        if key not in cache:
            ids = (self.tenant.transitive(gid) if transitive
                   else self.tenant.groups[gid].members)
            if cast == "user":
                ids = [i for i in ids if i in self.tenant.users]
            elif cast == "group":
                ids = [i for i in ids if i in self.tenant.groups]
            cache[key] = ids
        return cache[key]

    def members(self, call, segs):
        """/groups/{id}/members|transitiveMembers[/microsoft.graph.TYPE]."""
        self._options(call, ("$select", "$top", "$count", "$skiptoken"))
        cast = None
        if len(segs) == 4:
            cast = {"microsoft.graph.user": "user",
                    "microsoft.graph.group": "group"}.get(segs[3])
            if cast is None and not segs[3].startswith("microsoft.graph."):
                raise Unsupported(400, "BadRequest", "Resource not found for "
                                  "the segment '%s'." % segs[3])
            if cast is None:
                # GRAPH.md 3.1: a cast to a type the group can't contain.
                raise bad_request("The type '%s' is not a valid member type "
                                  "of a group." % segs[3],
                                  "Request_UnsupportedQuery")
            if not call.eventual():
                # GRAPH.md 3.1: the 2025 learn page's header table lists
                # OData cast among the options that need ConsistencyLevel.
                raise bad_request("Request with an OData cast only works "
                                  "through MSGraph with a special request "
                                  "header: 'ConsistencyLevel: eventual'",
                                  "Request_UnsupportedQuery")
        g = self.tenant.group(segs[1])
        props = {"user": USER_PROPS, "group": GROUP_PROPS}.get(
            cast, USER_PROPS | GROUP_PROPS)
        sel = self._select(call, props, {"user": "user", "group": "group"}
                           .get(cast, "directoryObject"))
        size = self._page_size(call)
        ids = self._member_ids(g.id, segs[2] == "transitiveMembers", cast)
        key = "m:%s:%s:%s" % (g.id, segs[2], cast)
        state = _read_skiptoken(call, key, {"o": int}) or {"o": 0, "p": 1}
        fault = self.sim.faults.member_page(call.method, call.target, g.id,
                                            state["p"])
        if fault is not None:
            raise self.sim.fault_error(fault)
        start = max(0, state["o"])
        chunk = ids[start:start + size]
        t = self.tenant
        value = [t.render_user(t.users[i], sel, typed=True) if i in t.users
                 else t.render_group(t.groups[i], sel, typed=True)
                 for i in chunk]
        name = {"user": "users", "group": "groups"}.get(cast,
                                                        "directoryObjects")
        body = {"@odata.context": self._context(call, name, sel)}
        if state["p"] == 1 and self._count_wanted(call):
            body["@odata.count"] = len(ids)
        if start + size < len(ids):
            body["@odata.nextLink"] = _link(call, call.path, {
                "$skiptoken": _skiptoken({"k": key, "o": start + size,
                                          "p": state["p"] + 1})})
        body["value"] = value
        return self._ok(body, 5 if segs[2] == "transitiveMembers" else 3,
                        call)

    # ---- users (GRAPH.md 3.2, 4) ------------------------------------------

    def list_users(self, call, segs):
        self._options(call, ("$select", "$top", "$count", "$filter",
                             "$skiptoken"))
        sel = self._select(call, USER_PROPS, "user")
        size = self._page_size(call)
        flt = call.query.get("$filter")
        if flt is None:
            ids, key = self.tenant.sorted_user_ids(), "u:"
        else:
            m = ANY_SKU_RE.match(flt)
            if m is None or m.group(1) != m.group(2):
                raise Unsupported(400, "Request_UnsupportedQuery", "The "
                                  "simulator supports only $filter="
                                  "assignedLicenses/any(x:x/skuId eq GUID).")
            # assignedLicenses eq is a default (non-advanced) filter in the
            # Graph docs' filter table (includes/filter-directory-objects
            # .md); GRAPH.md 3.2 names only the /$count form as advanced.
            ids = self.tenant.holders(m.group(3).lower())
            key = "u:" + m.group(3).lower()
        state = _read_skiptoken(call, key, {"c": str}) or {"c": "", "p": 1}
        # A cursor on the sorted ids keeps pages stable across writes.
        start = self.tenant.after(ids, state["c"])
        chunk = ids[start:start + size]
        body = {"@odata.context": self._context(call, "users", sel)}
        if state["p"] == 1 and self._count_wanted(call):
            body["@odata.count"] = len(ids)
        if start + size < len(ids):
            body["@odata.nextLink"] = _link(call, call.path, {
                "$skiptoken": _skiptoken({"k": key, "c": chunk[-1],
                                          "p": state["p"] + 1})})
        body["value"] = [self.tenant.render_user(self.tenant.users[i], sel)
                         for i in chunk]
        return self._ok(body, 2, call)

    def get_user(self, call, segs):
        self._options(call, ("$select",))
        u = self.tenant.user(segs[1])
        sel = self._select(call, USER_PROPS, "user")
        out = {"@odata.context": self._context(call, "users", sel, True)}
        out.update(self.tenant.render_user(u, sel))
        return self._ok(out, 1, call)

    def patch_user(self, call, segs):
        self._options(call, ())
        body = call.json()
        if not isinstance(body, dict):
            raise bad_request("Invalid request payload.")
        u = self.tenant.user(segs[1])
        others = sorted(set(body) - {"usageLocation"})
        if others:
            raise Unsupported(400, "Request_BadRequest", "The simulator can "
                              "only PATCH usageLocation, not %s." %
                              ", ".join(others))
        self.tenant.set_usage_location(u, body.get("usageLocation"))
        return self._ok(None, 1, call, status=204)

    @staticmethod
    def _guid(value):
        if not is_guid(value):
            raise bad_request("Cannot convert a primitive value to the "
                              "expected type 'Edm.Guid'. See the inner "
                              "exception for more details.")
        return value.lower()

    def _license_args(self, body):
        """(add, remove) from an assignLicense body (GRAPH.md 4.1)."""
        if not isinstance(body, dict):
            raise bad_request("Invalid request payload.")
        missing = [k for k in ("addLicenses", "removeLicenses")
                   if body.get(k) is None]
        if missing:
            # GRAPH.md 4.1 (msgraph-sdk-powershell #3229).
            raise bad_request("One or more parameters of the operation "
                              "'assignLicense' are missing from the request "
                              "payload. The missing parameters are: %s."
                              % ", ".join(missing))
        add_raw, remove_raw = body["addLicenses"], body["removeLicenses"]
        if not isinstance(add_raw, list) or not isinstance(remove_raw, list) \
                or not all(isinstance(a, dict) for a in add_raw):
            raise bad_request("Invalid request payload.")
        add = []
        for a in add_raw:
            plans = a.get("disabledPlans") or []
            if not isinstance(plans, list):
                raise bad_request("Invalid request payload.")
            add.append((self._guid(a.get("skuId")),
                        [self._guid(p) for p in plans]))
        return add, [self._guid(r) for r in remove_raw]

    def assign_license(self, call, segs):
        self._options(call, ())
        add, remove = self._license_args(call.json())
        u = self.tenant.user(segs[1])
        self.tenant.assign_license(u, add, remove)
        # 200 with the user object (GRAPH.md 4.2).
        sel = ["id", "accountEnabled", "assignedLicenses", "displayName",
               "userPrincipalName", "usageLocation"]
        out = {"@odata.context": self._context(call, "users", None, True)}
        out.update(self.tenant.render_user(u, sel))
        return self._ok(out, 1, call)

    # ---- $batch (GRAPH.md 5) ----------------------------------------------

    def batch(self, call, segs):
        """Runs with the lock NOT held (see GraphSim.graph): each item is
        processed like a request of its own, rate limits included."""
        items = self._batch_items(call.json())
        self.batch_no += 1
        results = {}
        for it in self._batch_order(items):
            failed = [d for d in it.get("dependsOn", [])
                      if not 200 <= results[d.lower()]["status"] < 300]
            if failed:
                res = {"id": it["id"], "status": 424,
                       "body": error_body("FailedDependency", "The request "
                                          "depends on failed request(s) %s."
                                          % ", ".join(failed), call)}
                self.sim.log_inner(call, it, res)
            else:
                res = self._batch_one(call, it)
            results[it["id"].lower()] = res
        responses = [results[it["id"].lower()] for it in items]
        # GRAPH.md 5: response order may differ from the request order.
        random.Random(self.batch_no).shuffle(responses)
        status = 200
        env = self.sim.faults.batch_envelope()
        if env and any(r["status"] == 429 for r in responses):
            status = env        # GRAPH.md 5: throttling.md's 424 envelope
        return Answer(status, {"responses": responses})

    @staticmethod
    def _batch_items(body):
        """Validated request items; malformed batch -> 400 (GRAPH.md 5)."""
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs:
            raise bad_request("Invalid batch payload format.", "BadRequest")
        if len(reqs) > MAX_BATCH:
            raise bad_request("Number of batch requests (%d) exceeds the "
                              "limit of %d." % (len(reqs), MAX_BATCH),
                              "BadRequest")
        seen = set()
        for it in reqs:
            if not isinstance(it, dict) or not all(
                    isinstance(it.get(k), str) and it[k]
                    for k in ("id", "method", "url")):
                raise bad_request("Each batch request needs the string "
                                  "properties id, method and url.",
                                  "BadRequest")
            if it["id"].lower() in seen:
                raise bad_request("Batch request ids must be unique; '%s' "
                                  "is repeated." % it["id"], "BadRequest")
            seen.add(it["id"].lower())
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", it["url"]):
                raise bad_request("Batch request urls must be relative: "
                                  "'%s'." % it["url"], "BadRequest")
            hdrs = it.get("headers") or {}
            if not isinstance(hdrs, dict):
                raise bad_request("Batch request headers must be an object.",
                                  "BadRequest")
            if "body" in it and it["body"] is not None and "content-type" \
                    not in {k.lower() for k in hdrs}:
                raise bad_request("Content-Type header must be specified for "
                                  "a batch request with a body (id '%s')."
                                  % it["id"], "BadRequest")
            deps = it.get("dependsOn", [])
            if not isinstance(deps, list) or any(
                    not isinstance(d, str) or d.lower() not in
                    {r.get("id", "").lower() for r in reqs
                     if isinstance(r, dict)} for d in deps):
                raise bad_request("dependsOn of '%s' names an unknown request "
                                  "id." % it["id"], "BadRequest")
        return reqs

    @staticmethod
    def _batch_order(items):
        """Items in request order, each after everything it depends on."""
        by_id = {it["id"].lower(): it for it in items}
        done, order = set(), []
        for _ in range(len(items)):      # each pass places at least one
            for it in items:
                key = it["id"].lower()
                if key not in done and all(d.lower() in done
                                           for d in it.get("dependsOn", [])):
                    done.add(key)
                    order.append(it)
            if len(done) == len(items):
                return order
        missing = sorted(set(by_id) - done)
        raise bad_request("dependsOn forms a cycle among %s." %
                          ", ".join(missing), "BadRequest")

    def _batch_one(self, call, it):
        t = (time.monotonic(), time.time())
        url = "/v1.0/" + it["url"].lstrip("/")
        inner = Call(it["method"].upper(), url, it.get("headers") or {},
                     it.get("body"), call.base, is_inner=True)
        inner.headers.setdefault("authorization",
                                 call.header("Authorization") or "")
        if inner.path == "/v1.0/$batch":
            ans = Answer(400, error_body("BadRequest", "A $batch request "
                                         "cannot be nested.", inner))
        else:
            ans = self.sim.process(inner)
        res = {"id": it["id"], "status": ans.status}
        hdrs = dict(ans.headers)
        if ans.body is not None:
            hdrs["Content-Type"] = "application/json"
        if hdrs:
            res["headers"] = hdrs
        res["body"] = ans.body
        self.sim.log_inner(call, it, res, ans, t)
        return res
