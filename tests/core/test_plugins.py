"""The one plugin loader: listing, lazy loading, and the errors for an unknown name, a
plugin that cannot be imported and one of the wrong type; and the groups it serves."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from quanta.core.dataset_type import STORAGE_CLASSES
from quanta.core.errors import ConfigError, UnknownNameError
from quanta.core.plugins import PluginLoader, subclass_of

GROUP = "quanta.test_widgets"


@pytest.fixture
def widgets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginLoader[type[Exception]]:
    """A loader over an installed distribution (a ``.dist-info`` on ``sys.path``) whose
    entry points name a good plugin, one of the wrong type, a missing attribute and a
    module that cannot be imported."""
    (tmp_path / "widget_plugins.py").write_text(
        "class Good(Exception):\n    pass\n\n\nclass Other:\n    pass\n\n\nVALUE = 3\n"
    )
    (tmp_path / "broken_widgets.py").write_text("import no_such_module_anywhere\n")
    dist = tmp_path / "widget_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: widget-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\n"
        "good = widget_plugins:Good\n"
        "other = widget_plugins:Other\n"
        "value = widget_plugins:VALUE\n"
        "missing = widget_plugins:Nowhere\n"
        "broken = broken_widgets:Widget\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("widget_plugins", "broken_widgets"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return PluginLoader(GROUP, "widget", subclass_of(Exception), "an Exception subclass")


def test_known_lists_every_name_sorted_without_importing(
    widgets: PluginLoader[type[Exception]],
) -> None:
    assert widgets.known() == ["broken", "good", "missing", "other", "value"]
    assert "widget_plugins" not in sys.modules


def test_load_imports_the_plugin_once(widgets: PluginLoader[type[Exception]]) -> None:
    good = widgets.load("good")
    assert good.__name__ == "Good" and issubclass(good, Exception)
    assert "widget_plugins" in sys.modules
    assert widgets.load("good") is good


def test_unknown_name_lists_the_known_ones(widgets: PluginLoader[type[Exception]]) -> None:
    with pytest.raises(UnknownNameError) as info:
        widgets.load("gadget")
    assert str(info.value) == (
        "unknown widget 'gadget'; known widgets: broken, good, missing, other, value"
    )
    assert isinstance(info.value, LookupError)


def test_unknown_error_and_listing_can_be_chosen() -> None:
    loader: PluginLoader[object] = PluginLoader(
        "quanta.test_nothing_here",
        "storage class",
        lambda _name, _plugin: True,
        "anything",
        unknown=ConfigError,
        listing="valid storage classes",
    )
    assert loader.known() == []
    with pytest.raises(ConfigError) as info:
        loader.load("X")
    assert str(info.value) == "unknown storage class 'X'; valid storage classes: none installed"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "broken",
            "widget 'broken' (broken_widgets:Widget) cannot be loaded: "
            "No module named 'no_such_module_anywhere'",
        ),
        ("missing", "widget 'missing' (widget_plugins:Nowhere) cannot be loaded: "),
    ],
)
def test_plugin_that_cannot_be_loaded_is_a_config_error(
    widgets: PluginLoader[type[Exception]], name: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        widgets.load(name)
    assert str(info.value).startswith(message)
    assert isinstance(info.value.__cause__, ImportError | AttributeError)


def test_plugin_of_the_wrong_type_says_what_was_expected(
    widgets: PluginLoader[type[Exception]],
) -> None:
    with pytest.raises(ConfigError) as info:
        widgets.load("other")
    assert str(info.value) == (
        f"entry point 'other' (widget_plugins:Other) of {GROUP} must name an Exception "
        "subclass, not class widget_plugins.Other"
    )
    with pytest.raises(ConfigError, match="must name an Exception subclass"):
        widgets.load("other")
    with pytest.raises(ConfigError, match=r"subclass, not an instance of int$"):
        widgets.load("value")


def test_shipped_plugin_groups() -> None:
    from quanta.datastore.formatters import FORMATTERS
    from quanta.exec.executor_choice import EXECUTORS
    from quanta.instruments.groups.rules import RULES
    from quanta.instruments.loader import INSTRUMENTS

    assert FORMATTERS.known() == sorted(STORAGE_CLASSES)
    assert all(FORMATTERS.load(name).storage_class == name for name in STORAGE_CLASSES)
    assert {"inline", "pool", "parsl"} <= set(EXECUTORS.known())
    assert {"flat-pairs", "by-keyword", "consecutive"} <= set(RULES.known())
    assert "SimCam" in INSTRUMENTS.known()
