"""The catalog of record types, lists, measures, memoranda and the points model."""

from socialcredit.catalog.issues import CatalogError, CatalogIssue
from socialcredit.catalog.loader import (
    catalog_from_json,
    catalog_json,
    catalog_version,
    default_catalog_dir,
    export_default,
    load_catalog,
    load_default,
)
from socialcredit.catalog.models import Catalog

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogIssue",
    "catalog_from_json",
    "catalog_json",
    "catalog_version",
    "default_catalog_dir",
    "export_default",
    "load_catalog",
    "load_default",
]
