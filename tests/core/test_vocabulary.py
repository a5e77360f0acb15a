"""The shared vocabulary: quantum statuses, transfer modes and the names of the datasets
every task writes keep the values the registry stores and the command line prints."""

from __future__ import annotations

import json

import pytest

from quanta.core import QuantumStatus, TransferMode
from quanta.core.errors import ConfigError, DatastoreError, QuantaError
from quanta.core.implicit import CONFIG, LOG, METADATA, config_name, log_name, metadata_name
from quanta.core.transfer import BETWEEN_REPOSITORIES, transfer_mode


def test_statuses_keep_their_stored_values_in_report_order() -> None:
    assert list(QuantumStatus) == ["done", "no_work", "skipped_existing", "failed", "blocked"]
    assert QuantumStatus("failed") is QuantumStatus.FAILED
    assert f"{QuantumStatus.NO_WORK}" == str(QuantumStatus.NO_WORK) == "no_work"
    counts = dict.fromkeys(QuantumStatus, 0)
    counts["done"] += 1
    assert json.dumps(counts) == (
        '{"done": 1, "no_work": 0, "skipped_existing": 0, "failed": 0, "blocked": 0}'
    )


def test_transfer_modes_keep_the_values_users_type() -> None:
    assert list(TransferMode) == ["copy", "move", "link", "symlink", "direct"]
    assert BETWEEN_REPOSITORIES == ("copy", "link", "symlink")
    assert transfer_mode("symlink") is TransferMode.SYMLINK


@pytest.mark.parametrize("error", [ConfigError, DatastoreError])
def test_unknown_transfer_mode_lists_the_valid_ones(error: type[QuantaError]) -> None:
    with pytest.raises(error) as info:
        transfer_mode("teleport", error)
    assert str(info.value) == (
        "unknown transfer mode 'teleport'; valid modes: copy, move, link, symlink, direct"
    )


def test_names_of_the_datasets_every_task_writes() -> None:
    assert (CONFIG, METADATA, LOG) == ("_config", "_metadata", "_log")
    assert config_name("isr") == "isr_config"
    assert metadata_name("isr") == "isr_metadata"
    assert log_name("isr") == "isr_log"
