"""Pydantic request models, one module per router family; every documented rule is enforced here."""
