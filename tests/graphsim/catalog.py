"""Microsoft's SKU / service-plan table, read from the shared CSV.

The CSV (shared/data/licensing-service-plan-reference.csv, header
Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,
Service_Plans_Included_Friendly_Names) has duplicate rows, non-breaking
spaces and stray blanks (shared/data/README.md section 1); every field is
normalised here. One String_Id (MCOPSTN5) names two products, so a part
number can be ambiguous: such SKUs must be given by skuId.
"""

import csv
import os
import re

# A copy of shared/data/licensing-service-plan-reference.csv (Microsoft's
# table, unchanged; provenance in data/README.md) so the repository tests
# itself without shared/ beside it.
DEFAULT_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                           "licensing-service-plan-reference.csv")
GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}$")


def _norm(text):
    return " ".join(text.replace("\u00a0", " ").split())


def is_guid(text):
    return isinstance(text, str) and GUID_RE.match(text) is not None


class Product:
    """One SKU: skuId, part number and its service plans in CSV order."""

    def __init__(self, sku_id, part):
        self.sku_id = sku_id
        self.part = part
        self.plans = []            # [(servicePlanId, servicePlanName)]
        self._plan_ids = set()

    def add_plan(self, plan_id, plan_name):
        if plan_id not in self._plan_ids:
            self._plan_ids.add(plan_id)
            self.plans.append((plan_id, plan_name))


class Catalog:
    """Products by skuId and by part number (case-insensitive)."""

    def __init__(self, path=None):
        self.path = path or os.environ.get("GRAPHSIM_CSV") or DEFAULT_CSV
        self.by_id = {}
        self._by_part = {}         # upper part -> [Product]
        with open(self.path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                self._add_row({k: _norm(v or "") for k, v in row.items()})

    def _add_row(self, row):
        sku_id = row["GUID"].lower()
        prod = self.by_id.get(sku_id)
        if prod is None:
            prod = Product(sku_id, row["String_Id"])
            self.by_id[sku_id] = prod
            self._by_part.setdefault(prod.part.upper(), []).append(prod)
        prod.add_plan(row["Service_Plan_Id"].lower(), row["Service_Plan_Name"])

    def lookup(self, ref):
        """Product for a skuId or an unambiguous part number; KeyError."""
        if is_guid(ref):
            prod = self.by_id.get(ref.lower())
            if prod is None:
                raise KeyError("skuId %s is not in %s" % (ref, self.path))
            return prod
        prods = self._by_part.get(str(ref).upper(), [])
        if len(prods) != 1:
            raise KeyError("part number %r %s; give the skuId" % (
                ref, "is ambiguous" if prods else "is not in the CSV"))
        return prods[0]

    def part_is_unique(self, part):
        return len(self._by_part.get(part.upper(), [])) == 1
