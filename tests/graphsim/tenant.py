"""The simulated tenant: SKUs, users, groups, apps, and license semantics.

Loads and dumps the tenant file format of README.md, keeps consumedUnits
live, resolves transitive membership lazily (cached; only the control
endpoint POST /_sim/members changes it at run time), and applies
assignLicense / usageLocation writes with the semantics of GRAPH.md
section 4. Rendering of Graph objects lives here too, with a per-user
cache of its properties that writes invalidate.
Not thread-safe: the server serialises calls with one lock.
"""

import bisect
import datetime
import json
import os
import uuid

from catalog import is_guid

# GRAPH.md 3.2 / schema excerpt: what the simulator can return for a user.
# The Graph default set (no $select) is the first group; usageLocation,
# assignedLicenses and licenseAssignmentStates come only on $select.
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle",
                "mail", "mobilePhone", "officeLocation", "preferredLanguage",
                "surname", "userPrincipalName", "id")
USER_PROPS = frozenset(USER_DEFAULT + (
    "accountEnabled", "usageLocation", "assignedLicenses",
    "licenseAssignmentStates"))
GROUP_DEFAULT = ("id", "displayName", "description", "groupTypes", "mail",
                 "mailEnabled", "mailNickname", "securityEnabled")
GROUP_PROPS = frozenset(GROUP_DEFAULT + ("assignedLicenses",))
SKU_PROPS = ("accountId", "accountName", "appliesTo", "capabilityStatus",
             "consumedUnits", "id", "prepaidUnits", "servicePlans", "skuId",
             "skuPartNumber", "subscriptionIds")
CAPABILITY = ("Enabled", "Warning", "Suspended", "Deleted", "LockedOut")
PROVISIONING = ("Success", "Disabled", "Error", "PendingInput",
                "PendingActivation", "PendingProvisioning")
# licenseAssignmentState.state values (GRAPH.md 3.2); only these two mean
# the license is in effect and takes a seat.
STATES = ("Active", "ActiveWithError", "Disabled", "Error")
ACTIVE_STATES = ("Active", "ActiveWithError")
# The licenseDetails example of shared/data shows EXCHANGE_S_FOUNDATION with
# appliesTo Company; the CSV carries no appliesTo, so every other plan
# defaults to User (overridable per SKU with planAppliesTo).
COMPANY_PLANS = frozenset(("EXCHANGE_S_FOUNDATION",))
NS = uuid.UUID("0b6a4c52-8f0e-4b59-9d43-2a9f6b0a4e11")


class GraphError(Exception):
    """A Graph error answer: HTTP status, error.code, error.message; body
    replaces the standard error body when set (the 429 sample); fault names
    the injected fault that caused it, if any."""

    fault = None

    def __init__(self, status, code, message, headers=None, body=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.body = body


def bad_request(message, code="Request_BadRequest"):
    return GraphError(400, code, message)


def not_found(ref):
    # Real shape, e.g. public test fixtures quoting Graph:
    # "Resource '<id>' does not exist or one of its queried
    #  reference-property objects are not present."
    return GraphError(404, "Request_ResourceNotFound",
                      "Resource '%s' does not exist or one of its queried "
                      "reference-property objects are not present." % ref)


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """Epoch seconds from an ISO 8601 string or a number."""
    if isinstance(value, (int, float)):
        return float(value)
    dt = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


class Sku:
    """A subscribed SKU: catalog product plus the tenant's seat numbers."""

    def __init__(self, tenant, product, spec):
        self.sku_id = product.sku_id
        self.part = product.part
        self.enabled = int(spec.get("enabled", 0))
        self.warning = int(spec.get("warning", 0))
        self.suspended = int(spec.get("suspended", 0))
        self.locked_out = int(spec.get("lockedOut", 0))
        self.capability = spec.get("capabilityStatus", "Enabled")
        self.applies_to = spec.get("appliesTo", "User")
        if self.capability not in CAPABILITY:
            raise ValueError("capabilityStatus %r" % self.capability)
        if self.applies_to not in ("User", "Company"):
            raise ValueError("appliesTo %r" % self.applies_to)
        self.subscription_ids = spec.get("subscriptionIds") or [
            str(uuid.uuid5(NS, tenant.tenant_id + self.sku_id))]
        self.plan_ids = [pid for pid, _ in product.plans]
        self.plan_name = dict(product.plans)
        names = {}
        for pid, name in product.plans:
            names.setdefault(name.upper(), []).append(pid)
        self.plan_by_name = {n: ids[0] for n, ids in names.items()
                             if len(ids) == 1}
        self.status = self._plan_map(spec.get("planStatus", {}), PROVISIONING)
        self.plan_applies = self._plan_map(spec.get("planAppliesTo", {}),
                                           ("User", "Company"))
        self.spec_keys = {k: spec[k] for k in ("planStatus", "planAppliesTo",
                                               "subscriptionIds")
                          if k in spec}
        self.consumed = 0
        self._rendered = None

    def _plan_map(self, mapping, allowed):
        out = {}
        for ref, value in mapping.items():
            if value not in allowed:
                raise ValueError("%s: %r is not one of %s" % (
                    self.part, value, ", ".join(allowed)))
            out[self.plan_ref(ref)] = value
        return out

    def plan_ref(self, ref):
        """servicePlanId for a plan name or id of this SKU; ValueError."""
        if is_guid(ref) and ref.lower() in self.plan_name:
            return ref.lower()
        pid = self.plan_by_name.get(str(ref).upper())
        if pid is None:
            raise ValueError("plan %r is not a plan of %s" % (ref, self.part))
        return pid

    def plan_label(self, pid):
        """Plan name when unambiguous in this SKU, else its id (dumps)."""
        name = self.plan_name[pid]
        return name if self.plan_by_name.get(name.upper()) == pid else pid

    def render(self, tenant):
        """subscribedSku (GRAPH.md 2); servicePlans cached, units live."""
        if self._rendered is None:
            dead = self.capability in ("Suspended", "Deleted", "LockedOut")
            plans = []
            for pid in self.plan_ids:
                name = self.plan_name[pid]
                default_applies = ("Company" if name.upper() in COMPANY_PLANS
                                   else "User")
                plans.append({
                    "servicePlanId": pid,
                    "servicePlanName": name,
                    "provisioningStatus": self.status.get(
                        pid, "Disabled" if dead else "Success"),
                    "appliesTo": self.plan_applies.get(pid, default_applies),
                })
            self._rendered = plans
        return {
            "accountName": tenant.display_name,
            "accountId": tenant.account_id,
            "appliesTo": self.applies_to,
            "capabilityStatus": self.capability,
            "consumedUnits": self.consumed,
            "id": "%s_%s" % (tenant.tenant_id, self.sku_id),
            "prepaidUnits": {"enabled": self.enabled,
                             "lockedOut": self.locked_out,
                             "suspended": self.suspended,
                             "warning": self.warning},
            "servicePlans": self._rendered,
            "skuId": self.sku_id,
            "skuPartNumber": self.part,
            "subscriptionIds": self.subscription_ids,
        }


class User:
    """A user with direct and group-inherited license assignments."""

    __slots__ = ("id", "upn", "display_name", "given_name", "surname",
                 "mail", "account_enabled", "usage_location", "direct",
                 "inherited", "_props")

    def __init__(self):
        self.direct = {}       # skuId -> {"disabled": [...], "updated": iso}
        self.inherited = []    # [{"sku","group","disabled","state","error",
        self._props = None     #   "updated"}]

    def held(self):
        """skuIds that take a seat: direct, or inherited in an active state."""
        skus = set(self.direct)
        for inh in self.inherited:
            if inh["state"] in ACTIVE_STATES:
                skus.add(inh["sku"])
        return skus


class Group:
    __slots__ = ("id", "display_name", "description", "members", "licenses",
                 "security_enabled", "mail_enabled", "group_types",
                 "mail_nickname")


class Tenant:
    """Everything the simulator serves; see README.md for the file format."""

    def __init__(self, data, catalog, search_dirs=()):
        self.catalog = catalog
        self.search_dirs = list(search_dirs)
        t = data.get("tenant") or {}
        self.tenant_id = str(t.get("id") or uuid.uuid4()).lower()
        if not is_guid(self.tenant_id):
            raise ValueError("tenant.id must be a GUID")
        self.domains = list(t.get("domains") or [])
        self.display_name = t.get("displayName", "Contoso")
        self.account_id = str(uuid.uuid5(NS, "account" + self.tenant_id))
        self.token_lifetime = int(data.get("tokenLifetime", 3599))
        self.clock_skew = int(data.get("clockSkew", 300))
        self.managed_identity = data.get("managedIdentity")
        self.apps = {}
        for app in data.get("apps", []):
            self.apps[str(app["clientId"]).lower()] = app
        self.skus = {}
        for spec in data.get("skus", []):
            self._add_sku(spec)
        self.users = {}
        self.upn_index = {}
        self.groups = {}
        for spec in data.get("groups", []):
            self._add_group(spec)
        for spec in data.get("users", []):
            self._add_user(spec)
        self._check_members()
        self._expand_group_licenses()
        for user in self.users.values():
            self._count(user, +1)
        self._transitive = {}
        self._sorted_ids = sorted(self.users)
        self._holders = {}

    # ---- loading ---------------------------------------------------------

    def _add_sku(self, spec):
        ref = spec.get("skuId") or spec.get("skuPartNumber")
        try:
            sku = Sku(self, self.catalog.lookup(ref), spec)
        except (KeyError, ValueError) as e:
            raise ValueError("skus[%s]: %s" % (ref, e)) from None
        if sku.sku_id in self.skus:
            raise ValueError("skus: %s listed twice" % ref)
        self.skus[sku.sku_id] = sku

    def sku(self, ref, where):
        """Tenant SKU for a part number or skuId from the tenant file."""
        try:
            sku_id = self.catalog.lookup(ref).sku_id
        except KeyError as e:
            raise ValueError("%s: %s" % (where, e)) from None
        if sku_id not in self.skus:
            raise ValueError("%s: %s is not a SKU of the tenant" % (
                where, ref))
        return self.skus[sku_id]

    def _plans(self, sku, refs, where):
        try:
            return [sku.plan_ref(r) for r in refs or []]
        except ValueError as e:
            raise ValueError("%s: %s" % (where, e)) from None

    def _add_user(self, spec):
        u = User()
        u.id = str(spec["id"]).lower()
        where = "users[%s]" % u.id
        if not is_guid(u.id) or u.id in self.users or u.id in self.groups:
            raise ValueError("%s: id must be a unique GUID" % where)
        u.upn = spec["userPrincipalName"]
        u.display_name = spec.get("displayName", u.upn.split("@")[0])
        u.given_name = spec.get("givenName")
        u.surname = spec.get("surname")
        u.mail = spec.get("mail", u.upn)
        u.account_enabled = bool(spec.get("accountEnabled", True))
        u.usage_location = spec.get("usageLocation")
        stamp = spec.get("lastUpdatedDateTime", iso_now())
        for lic in spec.get("licenses", []):
            sku = self.sku(lic["sku"], where)
            u.direct[sku.sku_id] = {
                "disabled": self._plans(sku, lic.get("disabledPlans"), where),
                "updated": lic.get("lastUpdatedDateTime", stamp)}
        for inh in spec.get("inheritedLicenses", []):
            sku = self.sku(inh["sku"], where)
            gid = str(inh["group"]).lower()
            if gid not in self.groups:
                raise ValueError("%s: group %s does not exist" % (where, gid))
            state = inh.get("state", "Active")
            if state not in STATES:
                raise ValueError("%s: state %r" % (where, state))
            u.inherited.append({
                "sku": sku.sku_id, "group": gid,
                "disabled": self._plans(sku, inh.get("disabledPlans"), where),
                "state": state, "error": inh.get("error", "None"),
                "updated": inh.get("lastUpdatedDateTime", stamp)})
        self.users[u.id] = u
        self.upn_index[u.upn.lower()] = u.id

    def _add_group(self, spec):
        g = Group()
        g.id = str(spec["id"]).lower()
        where = "groups[%s]" % g.id
        if not is_guid(g.id) or g.id in self.groups:
            raise ValueError("%s: id must be a unique GUID" % where)
        g.display_name = spec.get("displayName", g.id)
        g.description = spec.get("description")
        g.security_enabled = bool(spec.get("securityEnabled", True))
        g.mail_enabled = bool(spec.get("mailEnabled", False))
        g.group_types = list(spec.get("groupTypes", []))
        g.mail_nickname = spec.get("mailNickname",
                                   "".join(g.display_name.split()) or g.id)
        g.members = [str(m).lower() for m in spec.get("members", [])]
        g.licenses = []
        for lic in spec.get("licenses", []):
            sku = self.sku(lic["sku"], where)
            g.licenses.append((sku.sku_id, self._plans(
                sku, lic.get("disabledPlans"), where)))
        self.groups[g.id] = g

    def _check_members(self):
        for g in self.groups.values():
            for m in g.members:
                if m not in self.users and m not in self.groups:
                    raise ValueError("groups[%s]: member %s is neither a "
                                     "user nor a group" % (g.id, m))

    def _expand_group_licenses(self):
        """Group-based licensing reaches direct user members only (GRAPH.md
        4.4: nested groups are not supported)."""
        stamp = iso_now()
        for g in self.groups.values():
            for sku_id, disabled in g.licenses:
                for m in g.members:
                    u = self.users.get(m)
                    if u is None or any(i["sku"] == sku_id and
                                        i["group"] == g.id
                                        for i in u.inherited):
                        continue
                    u.inherited.append({
                        "sku": sku_id, "group": g.id,
                        "disabled": list(disabled), "state": "Active",
                        "error": "None", "updated": stamp})

    def _count(self, user, sign):
        for sku_id in user.held():
            self.skus[sku_id].consumed += sign

    # ---- dumping ---------------------------------------------------------

    def _sku_label(self, sku_id):
        sku = self.skus[sku_id]
        return sku.part if self.catalog.part_is_unique(sku.part) else sku_id

    def _labels(self, sku_id, plan_ids):
        return [self.skus[sku_id].plan_label(p) for p in plan_ids]

    def dump(self):
        """The tenant in its own file format (README.md)."""
        return {
            "tenant": {"id": self.tenant_id, "domains": self.domains,
                       "displayName": self.display_name},
            "tokenLifetime": self.token_lifetime,
            "clockSkew": self.clock_skew,
            **({"managedIdentity": self.managed_identity}
               if self.managed_identity else {}),
            "apps": list(self.apps.values()),
            "skus": [self._dump_sku(s) for s in self.skus.values()],
            "users": [self._dump_user(u) for u in self.users.values()],
            "groups": [self._dump_group(g) for g in self.groups.values()],
        }

    def _dump_sku(self, s):
        key = ("skuPartNumber" if self.catalog.part_is_unique(s.part)
               else "skuId")
        out = {key: s.part if key == "skuPartNumber" else s.sku_id,
               "enabled": s.enabled, "warning": s.warning,
               "suspended": s.suspended, "lockedOut": s.locked_out,
               "capabilityStatus": s.capability, "appliesTo": s.applies_to,
               "consumedUnits": s.consumed}
        out.update(s.spec_keys)
        return out

    def _dump_user(self, u):
        return {
            "id": u.id, "userPrincipalName": u.upn,
            "displayName": u.display_name, "givenName": u.given_name,
            "surname": u.surname, "mail": u.mail,
            "accountEnabled": u.account_enabled,
            "usageLocation": u.usage_location,
            "licenses": [{"sku": self._sku_label(s),
                          "disabledPlans": self._labels(s, d["disabled"]),
                          "lastUpdatedDateTime": d["updated"]}
                         for s, d in u.direct.items()],
            "inheritedLicenses": [
                {"sku": self._sku_label(i["sku"]), "group": i["group"],
                 "disabledPlans": self._labels(i["sku"], i["disabled"]),
                 "state": i["state"], "error": i["error"],
                 "lastUpdatedDateTime": i["updated"]}
                for i in u.inherited],
        }

    def _dump_group(self, g):
        out = {"id": g.id, "displayName": g.display_name,
               "members": list(g.members)}
        if g.licenses:
            out["licenses"] = [{"sku": self._sku_label(s),
                                "disabledPlans": self._labels(s, d)}
                               for s, d in g.licenses]
        return out

    # ---- lookups ---------------------------------------------------------

    def matches_tenant(self, ref):
        """True for the tenant GUID or one of its verified domains."""
        ref = ref.lower()
        return ref == self.tenant_id or ref in (d.lower()
                                                for d in self.domains)

    def user(self, ref):
        """User by object id or userPrincipalName (GRAPH.md 4: id | UPN)."""
        ref = ref.lower()
        uid = ref if ref in self.users else self.upn_index.get(ref)
        if uid is None:
            raise not_found(ref)
        return self.users[uid]

    def group(self, ref):
        g = self.groups.get(ref.lower())
        if g is None:
            raise not_found(ref)
        return g

    def transitive(self, gid):
        """All nested members of a group, each once, breadth-first.
        Cached until set_members() changes a membership."""
        hit = self._transitive.get(gid)
        if hit is None:
            seen, order, queue = {gid}, [], [gid]
            for cur in queue:            # queue grows; bounded by |groups|
                for m in self.groups[cur].members:
                    if m in seen:
                        continue
                    seen.add(m)
                    order.append(m)
                    if m in self.groups:
                        queue.append(m)
            hit = self._transitive[gid] = order
        return hit

    def set_members(self, changes):
        """Replace the direct members of groups at run time (the control
        endpoint POST /_sim/members): {group id: [user or group id]}.
        Validated whole before anything changes; group-based licenses
        follow the new direct user members. ValueError on a bad document."""
        if not isinstance(changes, dict):
            raise ValueError("members: a JSON object {group id: [ids]}")
        new = {}
        for gid, members in changes.items():
            gid = str(gid).lower()
            if gid not in self.groups:
                raise ValueError("members: group %s does not exist" % gid)
            if not isinstance(members, list):
                raise ValueError("members: %s: a list of ids" % gid)
            ids = []
            for m in members:
                m = str(m).lower()
                if m not in self.users and m not in self.groups:
                    raise ValueError("members: %s: %s is neither a user nor "
                                     "a group" % (gid, m))
                if m not in ids:
                    ids.append(m)
            new[gid] = ids
        for gid, ids in new.items():
            g = self.groups[gid]
            if g.licenses:      # members who left lose what g gave them
                for uid in set(g.members) - set(ids):
                    if uid in self.users:
                        u = self.users[uid]
                        u.inherited = [i for i in u.inherited
                                       if i["group"] != gid]
            g.members = ids
        self._expand_group_licenses()   # members who joined inherit
        self._recount()
        self._transitive = {}

    def _recount(self):
        """consumedUnits and the caches again, after membership changed."""
        for sku in self.skus.values():
            sku.consumed = 0
        for u in self.users.values():
            self._count(u, +1)
            u._props = None
        self._holders = {}

    def holders(self, sku_id):
        """Ids (sorted) of users whose assignedLicenses hold sku_id."""
        hit = self._holders.get(sku_id)
        if hit is None:
            hit = [uid for uid in self._sorted_ids
                   if sku_id in self.users[uid].held()]
            self._holders[sku_id] = hit
        return hit

    def sorted_user_ids(self):
        return self._sorted_ids

    @staticmethod
    def after(ids, cursor):
        """Index of the first id > cursor in a sorted id list."""
        return bisect.bisect_right(ids, cursor) if cursor else 0

    # ---- rendering -------------------------------------------------------

    def user_props(self, u):
        """Every property the simulator serves for a user (cached)."""
        if u._props is None:
            u._props = {
                "id": u.id,
                "businessPhones": [],
                "displayName": u.display_name,
                "givenName": u.given_name,
                "jobTitle": None,
                "mail": u.mail,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": None,
                "surname": u.surname,
                "userPrincipalName": u.upn,
                "accountEnabled": u.account_enabled,
                "usageLocation": u.usage_location,
                "assignedLicenses": self._assigned(u),
                "licenseAssignmentStates": self._states(u),
            }
        return u._props

    @staticmethod
    def _assigned(u):
        """One entry per SKU held; with several sources the enabled plans
        are the union, i.e. disabled = intersection (GRAPH.md 4.2/4.4)."""
        sources = {}
        for sku_id, d in u.direct.items():
            sources.setdefault(sku_id, []).append(d["disabled"])
        for i in u.inherited:
            if i["state"] in ACTIVE_STATES:
                sources.setdefault(i["sku"], []).append(i["disabled"])
        out = []
        for sku_id, lists in sources.items():
            common = set(lists[0]).intersection(*lists[1:])
            out.append({"disabledPlans": [p for p in lists[0]
                                          if p in common],
                        "skuId": sku_id})
        return out

    @staticmethod
    def _states(u):
        """licenseAssignmentStates: one entry per source (GRAPH.md 3.2).
        A successful entry carries error "None" as the service returns
        it (shared/data example), not null as the resource page says."""
        out = [{"assignedByGroup": None, "disabledPlans": d["disabled"],
                "error": "None", "lastUpdatedDateTime": d["updated"],
                "skuId": sku_id, "state": "Active"}
               for sku_id, d in u.direct.items()]
        out += [{"assignedByGroup": i["group"], "disabledPlans": i["disabled"],
                 "error": i["error"], "lastUpdatedDateTime": i["updated"],
                 "skuId": i["sku"], "state": i["state"]}
                for i in u.inherited]
        return out

    def render_user(self, u, select, typed=False):
        props = self.user_props(u)
        out = {"@odata.type": "#microsoft.graph.user"} if typed else {}
        for p in select or USER_DEFAULT:
            if p in props:
                out[p] = props[p]
        return out

    def render_group(self, g, select, typed=False):
        props = {
            "id": g.id, "displayName": g.display_name,
            "description": g.description, "groupTypes": g.group_types,
            "mail": None, "mailEnabled": g.mail_enabled,
            "mailNickname": g.mail_nickname,
            "securityEnabled": g.security_enabled,
            "assignedLicenses": [{"disabledPlans": d, "skuId": s}
                                 for s, d in g.licenses],
        }
        out = {"@odata.type": "#microsoft.graph.group"} if typed else {}
        for p in select or GROUP_DEFAULT:
            if p in props:
                out[p] = props[p]
        return out

    # ---- writes ----------------------------------------------------------

    def _changed(self, u, sku_ids):
        u._props = None
        for s in sku_ids:
            self._holders.pop(s, None)

    def set_usage_location(self, u, value):
        """PATCH usageLocation: ISO 3166 two-letter code (GRAPH.md 3.2)."""
        if value is not None and not (isinstance(value, str) and
                                      len(value) == 2 and value.isalpha()):
            raise bad_request("Invalid value specified for property "
                              "'usageLocation' of resource 'User'.")
        u.usage_location = value.upper() if value else None
        u._props = None

    def assign_license(self, u, add, remove):
        """assignLicense with GRAPH.md 4.2 semantics, all or nothing.
        add: [(skuId, [planId])], remove: [skuId], both validated GUIDs.
        Raises GraphError with the GRAPH.md 4.3 texts."""
        for sku_id in remove:
            if sku_id not in self.skus:
                raise bad_request("License %s does not correspond to a "
                                  "valid company License." % sku_id)
            if sku_id not in u.direct:
                # Covers group-inherited SKUs too: they cannot be removed
                # from the user directly (GRAPH.md 4.2).
                raise bad_request("User does not have a corresponding "
                                  "license.")
        held_after = {s for s in u.held() if s not in remove} | {
            i["sku"] for i in u.inherited if i["state"] in ACTIVE_STATES}
        new_seats = {}
        for sku_id, plans in add:
            sku = self.skus.get(sku_id)
            if sku is None:
                raise bad_request("License %s does not correspond to a "
                                  "valid company License." % sku_id)
            if sku.applies_to != "User":
                raise bad_request("License %s cannot be assigned to a user."
                                  % sku_id)
            for p in plans:
                if p not in sku.plan_name:
                    # GRAPH.md 4.2 says a foreign plan is rejected but gives
                    # no text: this wording is the simulator's own.
                    raise bad_request("Service plan %s does not belong to "
                                      "the license %s." % (p, sku_id))
            if sku_id not in held_after:
                new_seats[sku_id] = sku
        if add and not u.usage_location:
            raise bad_request("License assignment cannot be done for user "
                              "with invalid usage location.")
        for sku_id, sku in new_seats.items():
            freed = 1 if sku_id in remove and sku_id in u.held() else 0
            if sku.consumed - freed + 1 > sku.enabled:
                raise bad_request("Subscription with SKU %s does not have "
                                  "any available licenses." % sku_id)
        self._apply(u, add, remove)

    def _apply(self, u, add, remove):
        stamp = iso_now()
        self._count(u, -1)
        for sku_id in remove:
            del u.direct[sku_id]
        for sku_id, plans in add:
            u.direct[sku_id] = {"disabled": list(plans), "updated": stamp}
        self._count(u, +1)
        self._changed(u, set(remove) | {s for s, _ in add})


def load_file(path, catalog, search_dirs=()):
    """Tenant from a JSON tenant file; ValueError on a bad file."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    dirs = [os.path.dirname(os.path.abspath(path))] + list(search_dirs)
    return Tenant(data, catalog, dirs)
