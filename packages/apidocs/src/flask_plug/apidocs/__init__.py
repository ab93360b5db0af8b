"""OpenAPI 3.1 for any Flask app: generated from its routes and type hints, served with
Swagger UI and ReDoc offline, aware of the other Flask-Plug extensions."""

from __future__ import annotations

from .errors import FieldError, RequestValidationError, ResponseValidationError
from .extension import APIDocs
from .schemas import SchemaRegistry, UnsupportedType
from .settings import APIDocsOptions, APIDocsSettings
from .signature import File

__version__ = "0.1.0"

__all__ = [
    "APIDocs",
    "APIDocsOptions",
    "APIDocsSettings",
    "FieldError",
    "File",
    "RequestValidationError",
    "ResponseValidationError",
    "SchemaRegistry",
    "UnsupportedType",
]
