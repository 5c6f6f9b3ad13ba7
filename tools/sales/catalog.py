"""The product catalog: prices from the pricing policy file, names and aliases from the entity registry."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.base import get_entity_registry
from knowledge.graph import alias_key
from knowledge.registry import EntityRegistry, RegistryEntity, RegistryEntry
from salesbot.errors import UserFacingError
from salesbot.settings import get_settings
from salesbot.yaml_files import ConfigFileError, read_yaml, validate_data
from tools.sales.models import PricingPolicy, ProductPolicy

POLICY_FILE_NAME = "pricing_policy.yaml"
PRICING_POLICY_SOURCE = "pricing_policy"


class PricingError(UserFacingError, ValueError):
    """A pricing request that cannot be answered (unknown product, bad quantity, no policy); message is
    user-readable."""


def pricing_policy_path() -> Path:
    """SALESBOT_PRICING_POLICY_FILE, else SALESBOT_HOME/pricing_policy.yaml."""
    settings = get_settings()
    return Path(settings.pricing_policy_file or settings.home_dir / POLICY_FILE_NAME)


def load_pricing_policy(path: Path | None = None) -> PricingPolicy:
    """The pricing policy from YAML (re-read when the file changes)."""
    configured = path is not None or get_settings().pricing_policy_file is not None
    policy_path = Path(path or pricing_policy_path())
    if not policy_path.is_file():
        if not configured:
            raise PricingError("no pricing policy configured: set SALESBOT_PRICING_POLICY_FILE "
                               "(or run `salesbot demo`)")
        raise PricingError(f"pricing policy file not found: {policy_path} (check SALESBOT_PRICING_POLICY_FILE)")
    stat = policy_path.stat()
    try:
        return _load_policy_cached(str(policy_path.resolve()), stat.st_mtime_ns, stat.st_size)
    except ConfigFileError as error:
        raise PricingError(str(error)) from error


@lru_cache(maxsize=8)
def _load_policy_cached(path: str, _mtime_ns: int, _size: int) -> PricingPolicy:
    # YAML floats (0.08) go through str so Decimal gets the written value, not the binary approximation.
    return validate_data(_floats_to_strings(read_yaml(Path(path))), PricingPolicy, path)


def _floats_to_strings(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {key: _floats_to_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_floats_to_strings(item) for item in value]
    return value


def product_registry(policy: PricingPolicy) -> EntityRegistry:
    """The entity registry, with the policy's SKUs registered (so a SKU always resolves, names or not)."""
    registry = get_entity_registry()
    registry.register_external(PRICING_POLICY_SOURCE, [
        RegistryEntry(type="product", key=product.sku, name=product.sku, attributes={"line": product.line})
        for product in policy.products])
    return registry


def _policy_product(policy: PricingPolicy, key: str) -> ProductPolicy | None:
    wanted = alias_key(key)
    return next((product for product in policy.products if alias_key(product.sku) == wanted), None)


def _named(product: ProductPolicy, entity: RegistryEntity | None) -> ProductPolicy:
    if entity is None:
        return product.model_copy(update={"name_zh": product.sku, "name_en": product.sku})
    return product.model_copy(update={"name_zh": entity.name, "name_en": entity.latin_name()})


def catalog_products(policy: PricingPolicy | None = None) -> list[ProductPolicy]:
    """Every product of the policy, in policy order, with its registry names."""
    policy = policy or load_pricing_policy()
    registry = product_registry(policy)
    return [_named(product, registry.get(f"product:{alias_key(product.sku)}")) for product in policy.products]


def resolve_product(mention: str, policy: PricingPolicy | None = None) -> ProductPolicy:
    """A product by SKU, name or alias (case and spaces ignored); PricingError lists the known ones."""
    policy = policy or load_pricing_policy()
    registry = product_registry(policy)
    entity = registry.resolve(mention, ["product"])
    product = _policy_product(policy, entity.key) if entity is not None else None
    if product is None:
        known = ", ".join(f"{item.sku} ({item.name_en})" for item in catalog_products(policy))
        raise PricingError(f"unknown product {mention!r}; known products: {known}")
    return _named(product, entity)


def find_product_in_text(text: str, policy: PricingPolicy | None = None) -> ProductPolicy | None:
    """The priced product whose longest alias appears in free text ("<product> Pro" before "<product>")."""
    policy = policy or load_pricing_policy()
    registry = product_registry(policy)
    candidates = []
    for match in registry.find(text, ["product"]):
        entity = registry.get(match.entity_id)
        product = _policy_product(policy, entity.key) if entity is not None else None
        if product is not None:
            candidates.append((match.end - match.start, -match.start, product, entity))
    if not candidates:
        return None
    _length, _start, product, entity = max(candidates, key=lambda item: (item[0], item[1]))
    return _named(product, entity)
