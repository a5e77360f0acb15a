"""The ``Butler``: one object to put, get, find and query datasets in a repository."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.collections import CollectionType, check_collection_name
from ..core.data_id import DataCoordinate
from ..core.dataset_type import DatasetType
from ..core.errors import ConflictError, DatasetNotFoundError, RepositoryError
from ..core.records import DimensionRecord
from ..core.refs import DatasetRef
from ..core.stored_file import StoredFile
from ..core.timespan import Timespan
from ..core.universe import DEFAULT_UNIVERSE_PATH, load_universe
from ..registry import Registry
from .config import UNIVERSE_NAME, RepoConfig
from .repo_files import RepoFiles, file_templates, open_repo_files

if TYPE_CHECKING:
    from ..core.progress import ProgressCallback
    from ..datastore import Staged
    from ..registry.dependencies import Dependencies
    from .removal import CollectionRemoval, Removal
    from .transfers import IngestItem
    from .verify import VerifyReport

Collections = str | Sequence[str] | None
#: Directory under the root that holds the graph of every executed run.
GRAPHS_DIR = ".graphs"


class Butler:
    """A data repository: a registry database beside a file datastore."""

    def __init__(
        self, root: str | Path, *, run: str | None = None, collections: Collections = None
    ) -> None:
        self.root = Path(root).resolve()
        self.config = RepoConfig.load(self.root)
        files = open_repo_files(self.root, self.config)
        self.universe, self.datastore = files.universe, files.datastore
        self.registry = Registry.open(self.config.db_url(self.root), self.universe)
        self.run = run
        self.collections = _as_list(collections) or ([run] if run else [])

    @classmethod
    def _created(
        cls, root: Path, config: RepoConfig, files: RepoFiles, registry: Registry
    ) -> Butler:
        """The butler of a repository just created, from what creating it made (nothing is
        read back)."""
        butler = cls.__new__(cls)
        butler.root, butler.config, butler.registry = root, config, registry
        butler.universe, butler.datastore = files.universe, files.datastore
        butler.run, butler.collections = None, []
        return butler

    def __enter__(self) -> Butler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the registry's database connections (a later call reconnects)."""
        self.registry.close()

    @classmethod
    def create(
        cls,
        root: str | Path,
        *,
        db: str | None = None,
        universe: str | Path | None = None,
        templates: Mapping[str, str] | None = None,
        default_template: str | None = None,
    ) -> Butler:
        """Create a repository: directory, configuration, universe copy and registry schema.

        Nothing is left behind if the database cannot be set up.
        """
        root = Path(root).resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            what = "directory is not empty" if root.is_dir() else "it is not a directory"
            raise RepositoryError(f"cannot create a repository in {root}: {what}")
        source = Path(universe) if universe is not None else DEFAULT_UNIVERSE_PATH
        parsed = load_universe(source)
        config = RepoConfig()
        if db is not None:
            config.registry.db = db
        config.datastore.templates = dict(templates or {})
        config.datastore.default_template = default_template
        file_templates(parsed, config)
        created = not root.exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RepositoryError(f"cannot create {root}: {err.strerror}") from None
        try:
            shutil.copyfile(source, root / UNIVERSE_NAME)
            config.save(root)
            registry = Registry.create(config.db_url(root), parsed)
        except BaseException:
            for child in root.iterdir():
                child.unlink() if child.is_file() else shutil.rmtree(child)
            if created:
                root.rmdir()
            raise
        return cls._created(root, config, open_repo_files(root, config, parsed), registry)

    # -- definitions -----------------------------------------------------------------------

    def register_dataset_type(
        self,
        name: str | DatasetType,
        dimensions: Iterable[str] = (),
        storage_class: str | None = None,
        is_calibration: bool = False,
    ) -> DatasetType:
        """Register (or check) a dataset type and return it."""
        if isinstance(name, DatasetType):
            dataset_type = name
        else:
            if storage_class is None:
                raise ValueError("a storage class is needed to register a dataset type")
            dataset_type = DatasetType(
                name, self.universe.group(dimensions), storage_class, is_calibration
            )
        self.registry.register_dataset_type(dataset_type)
        return dataset_type

    def insert_dimension_records(
        self, element: str, records: Iterable[DimensionRecord | Mapping[str, Any]]
    ) -> int:
        """Insert dimension records idempotently; returns how many were new."""
        return self.registry.insert_dimension_records(element, records)

    def set_collection_chain(self, parent: str, children: Sequence[str]) -> None:
        """Create (if needed) a CHAINED collection and set its children in search order."""
        self.registry.register_collection(parent, CollectionType.CHAINED)
        self.registry.set_collection_chain(parent, list(children))

    def get_collection_chain(self, parent: str) -> list[str]:
        """Children of a CHAINED collection."""
        return self.registry.get_collection_chain(parent)

    def graph_path(self, run: str) -> Path:
        """Where the quantum graph a run executed is saved: ``.graphs/<run>.json.gz`` under
        the root, each ``/`` of the name a directory (dot names are not datastore files)."""
        # "." is a valid segment of a collection name but not of a path; "%" never is one.
        parts = [p if p != "." else "%2E" for p in check_collection_name(run).split("/")]
        return self.root.joinpath(GRAPHS_DIR, *parts[:-1], parts[-1] + ".json.gz")

    # -- put / get -------------------------------------------------------------------------

    def _dataset_type(self, dataset_type: DatasetType | str) -> DatasetType:
        if isinstance(dataset_type, DatasetType):
            return dataset_type
        return self.registry.get_dataset_type(dataset_type)

    def _run(self, run: str | None) -> str:
        run = run or self.run
        if run is None:
            raise RepositoryError("no output run: pass run=... to put, or to Butler(...)")
        return run

    def put(
        self,
        obj: Any,
        dataset_type: DatasetType | str,
        data_id: Mapping[str, Any] | None = None,
        *,
        run: str | None = None,
        **kwargs: Any,
    ) -> DatasetRef:
        """Write ``obj`` as a new dataset; on any failure neither a file nor a row remains."""
        dt = self._dataset_type(dataset_type)
        coordinate = self.registry.expand_data_id(
            DataCoordinate.standardize(data_id, dt.dimensions, **kwargs)
        )
        ref = DatasetRef.for_output(dt, coordinate, self._run(run))
        return self._store([(obj, ref)])[0]

    def put_many(
        self,
        items: Iterable[tuple[Any, Mapping[str, Any]]],
        dataset_type: DatasetType | str,
        *,
        run: str | None = None,
    ) -> list[DatasetRef]:
        """Write many datasets of one type in one transaction (all or nothing)."""
        dt = self._dataset_type(dataset_type)
        run = self._run(run)
        pairs = [
            (obj, DatasetRef.for_output(dt, DataCoordinate.standardize(d, dt.dimensions), run))
            for obj, d in items
        ]
        self._check_records([ref.data_id for _, ref in pairs])
        return self._store(pairs)

    def _check_records(self, data_ids: Sequence[DataCoordinate]) -> None:
        """Fail unless every dimension value of the data IDs has a record (bulk lookups)."""
        if not data_ids:
            return
        group = data_ids[0].group
        for name in group.required:
            dim = self.universe[name]
            keys = {tuple(d[k] for k in (*dim.required, name)) for d in data_ids}
            self.registry.fetch_dimension_records(
                name, [dict(zip((*dim.required, name), k, strict=True)) for k in keys]
            )

    def _store(self, pairs: Sequence[tuple[Any, DatasetRef]]) -> list[DatasetRef]:
        refs = [ref for _, ref in pairs]
        written: list[StoredFile] = []
        staged: list[Staged] = []
        try:
            if len(pairs) == 1:
                obj, ref = pairs[0]

                def stage_file() -> Callable[[], StoredFile]:
                    staged.append(self.datastore.stage(obj, ref))
                    return lambda: _appended(written, self.datastore.place(staged[0]))

                self.registry.insert_dataset(ref, stage_file)
                return refs
            with self.registry.transaction():
                for run in {ref.run for ref in refs}:
                    self.registry.register_run(run)
                if self.registry.insert_datasets(refs) != len(refs):
                    raise ConflictError("some of these datasets already exist in their run")
                for obj, ref in pairs:
                    written.append(self.datastore.write(obj, ref))
                self.registry.store_files(written)
        except BaseException:
            for file in staged:
                self.datastore.discard(file)
            for stored in written:
                self.datastore.remove(stored)
            raise
        return refs

    def find_dataset(
        self,
        dataset_type: DatasetType | str,
        data_id: Mapping[str, Any] | None = None,
        *,
        collections: Collections = None,
        timespan: Timespan | None = None,
        **kwargs: Any,
    ) -> DatasetRef:
        """The first matching dataset in the collections, or ``DatasetNotFoundError``."""
        return self._find(dataset_type, data_id, collections, timespan, kwargs)[0]

    def _find(
        self,
        dataset_type: DatasetType | str,
        data_id: Mapping[str, Any] | None,
        collections: Collections,
        timespan: Timespan | None,
        kwargs: Mapping[str, Any],
    ) -> tuple[DatasetRef, StoredFile | None]:
        """The first matching dataset and its file record (None if it has no file)."""
        dt = self._dataset_type(dataset_type)
        search = self._collections(collections)
        full = DataCoordinate.standardize({**(data_id or {}), **kwargs}, universe=self.universe)
        found = self.registry.find_dataset_file(dt, full, search, timespan)
        if found is None:
            raise DatasetNotFoundError(
                f"no {dt.name} dataset for {full} in collections {search}"
                + (f" valid over {timespan}" if timespan is not None else "")
            )
        return found

    def _collections(self, collections: Collections) -> list[str]:
        search = _as_list(collections) or self.collections
        if not search:
            raise RepositoryError("no collections to search: pass collections=...")
        return search

    def get(
        self,
        target: DatasetRef | DatasetType | str,
        data_id: Mapping[str, Any] | None = None,
        *,
        collections: Collections = None,
        timespan: Timespan | None = None,
        **kwargs: Any,
    ) -> Any:
        """Read a dataset, by ref or by dataset type, data ID and collections."""
        if isinstance(target, DatasetRef):
            return self.datastore.read(self._stored(target))
        found = self._find(target, data_id, collections, timespan, kwargs)
        return self.datastore.read(self._stored(*found))

    def _stored(self, ref: DatasetRef, stored: StoredFile | None = None) -> StoredFile:
        """``ref``'s file record: ``stored`` if found with it, else read from the registry."""
        stored = stored or self.registry.get_files([ref.id]).get(ref.id)
        if stored is None:
            raise DatasetNotFoundError(f"dataset {ref} has no file in this repository")
        return stored

    def exists(
        self,
        target: DatasetRef | DatasetType | str,
        data_id: Mapping[str, Any] | None = None,
        *,
        collections: Collections = None,
        **kwargs: Any,
    ) -> bool:
        """True if the dataset is known to the registry and its file is present."""
        try:
            stored = self._located(target, data_id, collections, kwargs)
        except DatasetNotFoundError:
            return False
        return self.datastore.check(stored) != "missing"

    def get_uri(
        self,
        target: DatasetRef | DatasetType | str,
        data_id: Mapping[str, Any] | None = None,
        *,
        collections: Collections = None,
        **kwargs: Any,
    ) -> str:
        """The file:// URI of a dataset's file."""
        return self.datastore.uri(self._located(target, data_id, collections, kwargs))

    def _located(
        self,
        target: DatasetRef | DatasetType | str,
        data_id: Mapping[str, Any] | None,
        collections: Collections,
        kwargs: Mapping[str, Any],
    ) -> StoredFile:
        """The file record of a dataset given by ref or by type, data ID and collections."""
        if isinstance(target, DatasetRef):
            return self._stored(target)
        return self._stored(*self._find(target, data_id, collections, None, kwargs))

    # -- queries ---------------------------------------------------------------------------

    def query_datasets(
        self,
        dataset_type: DatasetType | str,
        collections: Collections = None,
        *,
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
        find_first: bool = True,
    ) -> list[DatasetRef]:
        """Datasets of one type in the collections that satisfy ``where``."""
        return self.registry.query_datasets(
            dataset_type, self._collections(collections), where, binds, data_id, find_first
        )

    def query_data_ids(
        self,
        dimensions: Iterable[str],
        *,
        datasets: Iterable[str] = (),
        collections: Collections = None,
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
    ) -> list[DataCoordinate]:
        """Distinct data IDs, optionally only those with the given datasets."""
        datasets = list(datasets)
        search = self._collections(collections) if datasets else _as_list(collections) or []
        return self.registry.query_data_ids(dimensions, datasets, search, where, binds, data_id)

    def query_dimension_records(
        self,
        element: str,
        *,
        where: str | None = None,
        binds: Mapping[str, Any] | None = None,
        data_id: Mapping[str, Any] | None = None,
    ) -> list[DimensionRecord]:
        """Records of one dimension."""
        return self.registry.query_dimension_records(element, where, binds, data_id)

    # -- calibrations, removal -------------------------------------------------------------

    def certify(self, collection: str, refs: Sequence[DatasetRef], timespan: Timespan) -> None:
        """Certify calibration datasets in a CALIBRATION collection (created if needed)."""
        self.registry.register_collection(collection, CollectionType.CALIBRATION)
        self.registry.certify(collection, refs, timespan)

    def decertify(
        self,
        collection: str,
        dataset_type: DatasetType | str,
        timespan: Timespan,
        data_ids: Sequence[Mapping[str, Any]] | None = None,
    ) -> int:
        """Remove validity over ``timespan``; returns how many ranges changed."""
        dt = self._dataset_type(dataset_type)
        coordinates = (
            [DataCoordinate.standardize(d, dt.dimensions) for d in data_ids]
            if data_ids is not None
            else None
        )
        return self.registry.decertify(collection, dt, timespan, coordinates)

    def remove_runs(
        self, names: Sequence[str], *, decertify: bool = False, unstore: bool = True
    ) -> Removal:
        """Delete RUN collections, their datasets and (unless ``unstore`` is False) their
        files, taking the runs out of the chains that name them.

        Runs holding certified calibrations are refused unless ``decertify``. Rows and files
        go together or not at all (see ``quanta.butler.removal``); a file that datasets of
        other runs still use stays. The runs' saved graphs go too.
        """
        from .removal import remove_runs

        return remove_runs(self, names, decertify=decertify, unstore=unstore)

    def run_dependencies(self, names: Sequence[str]) -> Dependencies:
        """What removing these runs would touch: certifications, tags, chains and datasets
        of other runs made from theirs."""
        return self.registry.run_dependencies(names)

    def dataset_dependencies(self, refs: Sequence[DatasetRef]) -> Dependencies:
        """What removing these datasets would touch besides them."""
        return self.registry.dataset_dependencies(list(dict.fromkeys(r.id for r in refs)))

    def purge_datasets(
        self, refs: Sequence[DatasetRef], *, decertify: bool = False, untag: bool = False
    ) -> Removal:
        """Delete datasets with their files; certified ones need ``decertify`` and tagged
        ones ``untag``, all or nothing."""
        from .removal import purge_datasets

        return purge_datasets(self, refs, decertify=decertify, untag=untag)

    def decertify_datasets(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Remove every certification of these datasets from a CALIBRATION collection;
        returns how many validity ranges went."""
        return self.registry.decertify_datasets(collection, [r.id for r in refs])

    def associate(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Add datasets to a TAGGED collection (created if needed); returns how many were
        not there yet."""
        self.registry.register_collection(collection, CollectionType.TAGGED)
        return self.registry.associate(collection, refs)

    def disassociate(self, collection: str, refs: Sequence[DatasetRef]) -> int:
        """Remove datasets from a TAGGED collection; returns how many were there."""
        return self.registry.disassociate(collection, refs)

    def remove_collections(
        self, names: Sequence[str], *, decertify: bool = False
    ) -> list[CollectionRemoval]:
        """Delete TAGGED, CHAINED and CALIBRATION collections together (never datasets):
        runs, collections a staying chain names, and (unless ``decertify``) CALIBRATION
        collections that still certify something are refused. Returns what went."""
        from .removal import remove_collections

        return remove_collections(self, names, decertify=decertify)

    # -- files in and out ------------------------------------------------------------------

    def ingest(
        self,
        items: Sequence[IngestItem],
        transfer: str = "copy",
        progress: ProgressCallback | None = None,
    ) -> list[DatasetRef]:
        """Register existing files as datasets (modes copy, move, link, symlink, direct):
        items are ``(path, ref)``, or ``(path, ref, hdu)`` for one HDU of a file several
        datasets share; items naming the same file share one copy of it."""
        from .transfers import ingest

        return ingest(self, items, transfer, progress)

    def transfer_from(
        self,
        source: Butler,
        refs: Sequence[DatasetRef],
        transfer: str = "copy",
        progress: ProgressCallback | None = None,
    ) -> list[DatasetRef]:
        """Copy datasets with their definitions and records from another repository."""
        from .transfers import transfer_from

        return transfer_from(self, source, refs, transfer, progress)

    def verify(
        self,
        *,
        repair: bool = False,
        checksums: bool = True,
        progress: ProgressCallback | None = None,
    ) -> VerifyReport:
        """Report missing, corrupt (unless ``checksums`` is False) and orphan files;
        ``repair`` deletes the orphans."""
        from .verify import verify

        return verify(self, repair=repair, checksums=checksums, progress=progress)


def _appended(records: list[StoredFile], stored: StoredFile) -> StoredFile:
    """``stored``, noted in ``records`` (the files a failed put removes)."""
    records.append(stored)
    return stored


def _as_list(collections: Collections) -> list[str]:
    if collections is None:
        return []
    if isinstance(collections, str):
        return [collections]
    return list(collections)
