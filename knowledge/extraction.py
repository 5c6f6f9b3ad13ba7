"""Model-backed extraction the knowledge layer can be given: entities named in a document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from prompts import load_prompt


class ExtractedEntities(BaseModel):
    customers: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    partners: list[str] = Field(default_factory=list)


def entity_extractor_for(model: Any) -> Callable[[str, str], dict[str, list[str]]]:
    """An extractor for knowledge.ingest: schema-constrained output, so even small models return valid lists."""
    from salesbot.llm import invoke_structured

    def extract(title: str, text: str) -> dict[str, list[str]]:
        found = invoke_structured(model, [("human", load_prompt("extract_entities").format(title=title, text=text))],
                                  ExtractedEntities)
        return {"customer": found.customers, "product": found.products, "competitor": found.competitors,
                "partner": found.partners}

    return extract
