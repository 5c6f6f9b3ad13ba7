"""Knowledge core: ingestion, chunking, Chroma + BM25 indexes, the entity graph and the role-filtered retriever."""
