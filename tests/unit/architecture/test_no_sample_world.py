"""No demo-company name (customer, product, competitor, partner, rep) appears in the product's Python code.

The names are read from the demo company's own data files, so the check follows the data: a name added to
samples/ is checked as soon as it exists. Tests, benchmarks and the samples package (the demo data and its
loader) are exempt; everything the product runs is not — docstrings, help texts and comments included.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples"
EXEMPT_PREFIXES = ("tests/", "benchmarks/", "samples/")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def demo_names() -> set[str]:
    """Every entity name, key and alias of the demo registry, and every rep's user id and name."""
    names: set[str] = set()
    registry = yaml.safe_load((SAMPLES / "entities.yaml").read_text(encoding="utf-8"))
    for entity in registry["entities"]:
        names.update([str(entity["key"]), str(entity["name"]), *map(str, entity.get("aliases") or [])])
        attributes = entity.get("attributes") or {}
        names.update(str(attributes[field]) for field in ("name_en",) if attributes.get(field))
    for people_file in ("seed.yaml", "company.yaml"):
        path = SAMPLES / people_file
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for person in data.get("reps") or []:
                names.update(str(person[field]) for field in ("user", "name", "name_zh") if person.get(field))
            for customer in data.get("customers") or []:
                names.update(_strings({k: v for k, v in customer.items() if k in ("key", "name_zh", "name_en")}))
            for competitor in data.get("competitors") or []:
                names.update(_strings({k: v for k, v in competitor.items() if k in ("key", "name_zh", "name_en")}))
    policy = yaml.safe_load((SAMPLES / "policy" / "pricing_policy.yaml").read_text(encoding="utf-8"))
    for product in policy["products"]:
        names.update(str(product[field]) for field in ("sku", "name_zh", "name_en") if product.get(field))
        names.update(map(str, product.get("aliases") or []))
    return {name for name in names if len(name.strip()) >= 2}


def _pattern(name: str) -> re.Pattern[str]:
    if _CJK.search(name):
        return re.compile(re.escape(name))
    # Latin names as whole words; two-character model names ("X3") case-sensitively, longer ones not.
    flags = 0 if len(name) <= 2 else re.IGNORECASE
    return re.compile(r"(?<![A-Za-z0-9_-])" + re.escape(name) + r"(?![A-Za-z0-9_])", flags)


def product_python_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split()
    return [path for path in listed if not path.startswith(EXEMPT_PREFIXES) and (ROOT / path).exists()]


def test_the_demo_registry_yields_names_to_check() -> None:
    names = demo_names()
    assert len(names) > 40 and any(_CJK.search(name) for name in names)


def test_no_demo_company_name_in_product_code() -> None:
    patterns = [(name, _pattern(name)) for name in sorted(demo_names())]
    found = []
    for path in product_python_files():
        text = (ROOT / path).read_text(encoding="utf-8")
        for name, pattern in patterns:
            for match in pattern.finditer(text):
                found.append(f"{path}:{text.count(chr(10), 0, match.start()) + 1}: {name!r}")
    assert not found, "demo-company names in product code:\n" + "\n".join(found[:60])
