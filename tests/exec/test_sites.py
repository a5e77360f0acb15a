"""Parsl sites: the built-in templates, validation naming file, line and field, and the
Parsl configuration each site makes (built, never started: no batch system here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quanta.cli.main import cli
from quanta.core.errors import ConfigError
from quanta.exec.parsl_executor import parsl_config
from quanta.exec.sites import BUILTIN_SITES, Site, load_site, template_text


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("name", BUILTIN_SITES)
def test_builtin_sites_validate_and_make_a_parsl_config(name: str, tmp_path: Path) -> None:
    site = load_site(name)
    config = parsl_config(site, tmp_path / "runinfo")
    (executor,) = config.executors
    provider = executor.provider
    expected = {
        "local": "LocalProvider",
        "slurm": "SlurmProvider",
        "pbs": "PBSProProvider",
        "condor": "CondorProvider",
    }
    assert type(provider).__name__ == expected[name]
    assert executor.max_workers_per_node == site.workers_per_node
    assert provider.max_blocks == site.max_blocks
    bin_dir = str(Path(sys.executable).parent)
    assert provider.worker_init.splitlines()[0] == f'export PATH="{bin_dir}:$PATH"'
    assert executor.interchange_launch_cmd[:3] == [sys.executable, "-m", "quanta.exec.guard"]
    assert config.run_dir == str(tmp_path / "runinfo")
    assert config.retries == 0  # the driver retries, so that it can record every attempt


def test_site_file_fields_reach_the_provider(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "provider: slurm\npartition: short\naccount: astro\nwalltime: '00:30:00'\n"
        "workers_per_node: 8\ncores_per_quantum: 2\nmemory_per_quantum: 3\n"
        "nodes_per_block: 2\nmax_blocks: 3\nworker_init: [module load gcc, echo ready]\n"
    )
    site = load_site(str(path))
    assert site.workers == 8 * 2 * 3 and site.in_flight == 2 * 48
    provider = parsl_config(site, tmp_path).executors[0].provider
    assert (provider.partition, provider.account, provider.walltime) == (
        "short",
        "astro",
        "00:30:00",
    )
    assert provider.cores_per_node == 16 and provider.mem_per_node == 24
    assert provider.nodes_per_block == 2
    assert provider.worker_init.splitlines()[1:] == ["module load gcc", "echo ready"]


def test_workers_override_and_site_defaults() -> None:
    assert load_site("local", 3).workers_per_node == 3
    assert load_site("local").grace_seconds == 12
    assert Site(provider="pbs", max_in_flight=7).in_flight == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("provider: slurm\nwalltime: 5h\n", ":2: field 'walltime': '5h' is not HH:MM:SS"),
        ("provider: local\nworkers_per_node: 0\n", ":2: field 'workers_per_node': Input should"),
        ("provider: local\nnodes: 3\n", ":2: field 'nodes': Extra inputs are not permitted"),
        ("provider: pbs\npartition: x\n", ":2: field 'partition': only slurm sites have it"),
        ("provider: slurm\nqueue: x\n", ":2: field 'queue': only pbs sites have it"),
        ("provider: kubernetes\n", ":1: field 'provider': Input should be 'local'"),
        ("provider: local\ninit_blocks: 3\n", "field 'max_blocks': needs min_blocks (0) <="),
        ("heartbeat_threshold: 5\nprovider: local\n", "field 'heartbeat_threshold': must be"),
        ("workers_per_node: 2\n", "field 'provider': Field required"),
        ("- local\n", "a site is a mapping of fields, not list"),
        ("provider: [local\n", "expected ',' or ']'"),
    ],
)
def test_malformed_site_files_name_file_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_site(str(path))
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_unknown_site_names_and_missing_files() -> None:
    with pytest.raises(ConfigError, match="unknown site 'summit': give one of local, slurm"):
        load_site("summit")
    with pytest.raises(ConfigError, match=r"site file nowhere\.yaml does not exist"):
        load_site("nowhere.yaml")
    with pytest.raises(ConfigError, match="unknown site 'lsf'; built-in sites"):
        template_text("lsf")


def test_sites_command_lists_prints_and_checks(tmp_path: Path) -> None:
    listed = invoke("sites")
    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(BUILTIN_SITES)
    printed = invoke("sites", "slurm")
    assert printed.exit_code == 0 and printed.stdout == template_text("slurm")
    copy = tmp_path / "mine.yaml"
    copy.write_text(printed.stdout.replace("workers_per_node: 16", "workers_per_node: 4"))
    checked = invoke("sites", "--check", copy)
    assert checked.exit_code == 0
    assert "slurm site, 16 worker(s) at most (4 per node" in checked.stdout
    copy.write_text("provider: slurm\nwalltime: forever\n")
    bad = invoke("sites", "--check", copy)
    assert bad.exit_code == 2 and "field 'walltime'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
