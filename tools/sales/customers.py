"""Resolve a customer mention (Chinese, English, short alias, or a near miss) to one known customer.

Customers (and partners) come from the entity registry: the knowledge graph (registry files, documents' front
matter, contract party lines), plus the sales database's `customers` table, registered into the same registry.
"""

from __future__ import annotations

import logging

from knowledge.base import get_entity_registry
from knowledge.registry import EntityRegistry, RegistryEntity, RegistryEntry
from tools.sales.models import CustomerRef

logger = logging.getLogger(__name__)

CUSTOMER_TYPES = ("customer", "partner")
SALES_DATABASE_SOURCE = "sales_database"


def customer_registry() -> EntityRegistry:
    """The entity registry with the sales database's customers registered in it."""
    registry = get_entity_registry()
    try:
        from sqlmodel import select

        from tools.db.tables import Customer, sales_session

        with sales_session() as session:
            rows = session.exec(select(Customer).order_by(Customer.key)).all()
        registry.register_external(SALES_DATABASE_SOURCE, [
            RegistryEntry(type="customer", key=row.key, name=row.name_zh, aliases=[row.name_en],
                          attributes={"name_en": row.name_en, "region": row.region, "industry": row.industry,
                                      "city": row.city})
            for row in rows])
    except Exception:  # the database is optional for resolution; the knowledge graph still answers
        logger.warning("customer table unavailable; resolving against the entity registry only", exc_info=True)
    return registry


def customer_ref(entity: RegistryEntity) -> CustomerRef:
    attributes = entity.attributes
    return CustomerRef(key=entity.key, name_zh=entity.name, name_en=entity.latin_name(),
                       region=str(attributes.get("region") or ""), industry=str(attributes.get("industry") or ""),
                       city=str(attributes.get("city") or ""))


def known_customers() -> list[CustomerRef]:
    """Every customer the registry knows (graph, registry file and sales database)."""
    registry = customer_registry()
    return [customer_ref(entity) for entity in registry.of_type("customer")]


def find_customer_in_text(text: str) -> tuple[CustomerRef, int, int] | None:
    """The first customer named in free text, with the span of the mention (exact aliases, then fuzzy)."""
    registry = customer_registry()
    match = registry.first_in_text(text or "", CUSTOMER_TYPES)
    entity = registry.get(match.entity_id) if match else None
    if match is None or entity is None:
        return None
    return customer_ref(entity), match.start, match.end


def resolve_customer(mention: str) -> CustomerRef | None:
    """The one customer a mention refers to: exact (any alias, case-insensitive), then contained, then fuzzy."""
    entity = customer_registry().resolve(mention or "", CUSTOMER_TYPES)
    return customer_ref(entity) if entity else None
