"""Pydantic models of the REST API's request bodies and queries, one module per resource."""
