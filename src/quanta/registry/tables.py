"""The tables of one registry, gathered from the modules that declare them."""

from __future__ import annotations

import functools

import sqlalchemy as sa

from ..core.universe import DimensionUniverse
from .calibration import calibration_table
from .collections import collection_tables
from .dataset_types import dataset_type_table
from .datasets import dataset_tables
from .dimension_records import dimension_tables
from .groups import exclusive_member_table, has_exclusive_groups
from .provenance import provenance_tables
from .schema import RegistryTables, meta_table


@functools.lru_cache(maxsize=8)
def build_tables(universe: DimensionUniverse) -> RegistryTables:
    """The SQLAlchemy table objects for a universe (nothing is sent to the database); built
    once per universe, since they are only definitions, which registries may share."""
    md = sa.MetaData()
    meta = meta_table(md)
    collection, collection_chain = collection_tables(md)
    dataset_type = dataset_type_table(md)
    dataset, dataset_tag, file_record = dataset_tables(md, universe)
    dataset_calib = calibration_table(md)
    dims, joins = dimension_tables(md, universe)
    quantum, quantum_dataset = provenance_tables(md)
    exclusive = (
        exclusive_member_table(md, universe, joins["group_membership"])
        if has_exclusive_groups(universe)
        else None
    )
    return RegistryTables(
        md,
        meta,
        collection,
        collection_chain,
        dataset_type,
        dataset,
        dataset_tag,
        dataset_calib,
        file_record,
        dims,
        joins,
        quantum,
        quantum_dataset,
        exclusive,
    )
