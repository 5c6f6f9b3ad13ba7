"""The sales domain: catalog and pricing policy, pricing engine, customers, dates, opportunity cards."""
