"""Pydantic models of the REST API's answers, one module per resource."""
