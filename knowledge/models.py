"""Types of the knowledge core: documents, chunks, retrieved passages, and the entity graph tables."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetrievedChunk(BaseModel):
    """One passage the role-filtered retriever returns, best first."""

    chunk_id: str
    doc_id: str
    source: str = Field(description="File name of the document (what citations show).")
    title: str
    section: str = Field(description="Section path, e.g. '第五条 质量保证' or '4 Payment > 4.1 Schedule'.")
    text: str
    score: float
    doc_type: str = Field(description="contract | whitepaper | faq | policy | note …")
    access: list[str] = Field(default_factory=list, description="Roles that may read it; ['*'] = everyone.")
    products: list[str] = Field(default_factory=list)
    customers: list[str] = Field(default_factory=list)
    language: str = "en"
    flagged_injection: bool = False
