"""The layout is the architecture (README "How the code is laid out"): imports run one way, from
the command line down to the records, so a stage never reaches up into the one that calls it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parent.parent / "monitor"
PACKAGES = ("cli", "web", "sources", "analysis", "alerts", "render", "store", "demo")
# Top to bottom: a unit may import only the units after it. The poll's chain is
# cli → schedule → pipeline → ingest → alerts, store, analysis, sources; configuration, records
# and errors are below all of them.
ORDER = (
    "__main__",
    "cli/",
    "schedule",
    "demo_run",
    "pipeline",
    "poll_services",
    "ingest",
    "alerts/",
    "health",
    "logs",
    "web/",
    "render/",
    "store/",
    "config",
    "config_sections",
    "channel_kinds",
    "redact",
    "config_stamp",
    "config_file",
    "analysis/",
    "sources/",
    "workers",
    "demo/",
    "errors",
    "body",
    "models",
    "__init__",
)


def _unit(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1] + "/" if parts[1] in PACKAGES else parts[1]


def _imports(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Modules of monitor imported anywhere in `tree` (in functions too), except for typing."""
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for sub in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("monitor"):
            if node.module == "monitor":
                names = [f"monitor.{a.name}" for a in node.names if a.name != "__version__"]
            else:
                names = [node.module]
            yield from ((name, node.lineno) for name in names)
        elif isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names if a.name.startswith("monitor"))


def edges() -> Iterator[tuple[str, str, str]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(("monitor", *parts)).removesuffix(".__init__")
        for target, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            a, b = _unit(module), _unit(target)
            if a != b:
                yield a, b, f"monitor/{path.relative_to(ROOT)}:{line}"


def test_every_unit_has_its_place() -> None:
    units = {
        _unit(f"monitor.{'.'.join(p.relative_to(ROOT).with_suffix('').parts)}")
        for p in ROOT.rglob("*.py")
    }
    assert units <= set(ORDER), f"place {sorted(units - set(ORDER))} in ORDER"


def test_imports_run_one_way() -> None:
    upward = [
        f"{where}: {a} imports {b}" for a, b, where in edges() if ORDER.index(a) > ORDER.index(b)
    ]
    assert not upward, "imports against the layout:\n" + "\n".join(upward)


def test_the_order_is_not_vacuous() -> None:
    """The walk of the README is made of real imports."""
    found = {(a, b) for a, b, _ in edges()}
    for pair in [
        ("cli/", "schedule"),
        ("schedule", "pipeline"),
        ("pipeline", "ingest"),
        ("ingest", "alerts/"),
        ("ingest", "analysis/"),
        ("ingest", "store/"),
        ("alerts/", "render/"),
        ("pipeline", "sources/"),
    ]:
        assert pair in found, pair


def test_every_library_monitor_imports_is_a_runtime_dependency() -> None:
    """The image installs only [project].dependencies: a library monitor/ imports (in functions
    too) that arrives only with the dev extras (Jinja2 came with Datasette) breaks it there.
    An optional extra other than dev counts: its command says how to install it."""
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))

    def names(lines: list[str]) -> set[str]:
        return {Requirement(r).name.lower().replace("_", "-") for r in lines}

    declared = names(project["project"]["dependencies"])
    # what the declared ones bring with them counts (markupsafe under jinja2), not what an
    # optional extra brings: the image has none of them
    from importlib.metadata import requires

    brought = set(declared)
    for name in declared:
        for line in requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                brought.add(requirement.name.lower().replace("_", "-"))
    # an optional extra other than dev, itself: the command that needs it says how to install it
    extras = project["project"]["optional-dependencies"]
    brought |= names([r for group, rs in extras.items() if group != "dev" for r in rs])
    owners = packages_distributions()
    missing = set()
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top == "monitor" or top in sys.stdlib_module_names:
                    continue
                dists = {d.lower().replace("_", "-") for d in owners.get(top, [top])}
                if not dists & brought:
                    missing.add(f"{top} (monitor/{path.relative_to(ROOT)})")
    assert not missing, f"declare in pyproject.toml's dependencies: {sorted(missing)}"


def test_tests_share_helpers_through_helper_modules() -> None:
    """A test module imports helpers from tests/ helper modules (tests/documents.py,
    tests/service.py, tests/web_history.py, ...), never from another test module, whose
    fixtures and tests would come along."""
    tests = ROOT.parent / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [
                f"{path.relative_to(tests)}: {name}"
                for name in names
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            ]
    assert not found, f"move these helpers to a tests/ helper module: {found}"


LONG = 400  # lines: issue 12's bar for a module without a reason to be longer


def test_a_long_module_says_why_it_is_one_module() -> None:
    """A module over LONG lines says in its docstring why it is one ("Longer than most
    modules: ..."), or is split by role."""
    unexplained = []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG:
            doc = " ".join((ast.get_docstring(ast.parse(text)) or "").split())
            if "Longer than most modules" not in doc:
                unexplained.append(f"monitor/{path.relative_to(ROOT)} ({text.count(chr(10))})")
    assert not unexplained, f"split these by role or say why in the docstring: {unexplained}"
