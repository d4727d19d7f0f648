"""The shape the code must keep (DESIGN.md): data flows one way, nothing reaches back into a CLI,
engines are imported in one place each, and every package is installed."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"render": "simedit.render", "train": "simedit.train"}
CLI_MODULES = {"simedit.render.cli", "simedit.render.catalog.cli", "simedit.train.cli", "simedit.train.video.cli",
               "simedit.train.eval.cli"}


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
            found += [(f"{node.module}.{a.name}", id(node) in top) for a in node.names]
    return found


def graph(module_level_only: bool) -> dict[str, set[str]]:
    mods = modules()
    return {m: {name for name, top in imports(p) if name in mods and name != m and (top or not module_level_only)}
            for m, p in mods.items()}


def cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle():
    assert cycle(graph(module_level_only=False)) is None, cycle(graph(module_level_only=False))


def test_nothing_reaches_back_into_a_cli():
    for module, deps in graph(module_level_only=False).items():
        assert not (deps & CLI_MODULES) or module in {"simedit.train.__main__"}, (module, deps & CLI_MODULES)


def test_data_flows_one_way():
    """spec -> plan -> render -> verify -> write: planning never imports the run, the renderer
    backends or the run directory; the run-directory contract imports no planning or rendering."""
    g = graph(module_level_only=False)
    layers = {
        "simedit.render.plan": ("simedit.render.run", "simedit.render.backends", "simedit.render.rundir",
                                "simedit.render.verify"),
        "simedit.render.rundir.contract": ("simedit.render.plan", "simedit.render.run", "simedit.render.backends"),
        "simedit.render.backends": ("simedit.render.plan", "simedit.render.run", "simedit.render.rundir"),
        "simedit.render.spec": ("simedit.render.plan",),
    }
    for module, deps in g.items():
        for layer, forbidden in layers.items():
            if module == layer or module.startswith(layer + "."):
                bad = [d for d in deps if d.startswith(forbidden)]
                assert not bad, f"{module} imports {bad}"


def test_engines_are_imported_in_one_place_each():
    where: dict[str, set[str]] = {"bpy": set(), "pybullet": set(), "torch": set(), "diffusers": set()}
    for module, path in modules().items():
        text = path.read_text()
        for engine in where:
            if re.search(rf"^\s*(import {engine}\b|from {engine}\b)", text, re.M):
                where[engine].add(module)
    # the Blender backends: Cycles, and Kubric's (Kubric drives Blender) with its adapter
    assert where["bpy"] <= {"simedit.render.backends.cycles", "simedit.render.backends.kubric",
                            "simedit.render.backends.kubric_compat"}
    assert "simedit.render.backends.cycles" in where["bpy"]
    assert where["pybullet"] <= {"simedit.render.plan.physics", "simedit.render.catalog.collision",
                                 "simedit.render.catalog.stability"}
    assert all(m.startswith("simedit.train.") for m in where["torch"] | where["diffusers"])


def test_every_package_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for folder, package in PACKAGES.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join([package, *parts]))
    assert found <= listed, f"not installed: {sorted(found - listed)}"
    for data in ("simedit.templates", "simedit.scenes", "simedit.assets_catalog", "simedit.train.configs"):
        assert data in listed and data in config["package-data"]


def test_no_branch_on_an_edit_kind_outside_its_module():
    """Each edit kind owns all its logic: no code outside plan/edits/ compares a value with a
    kind's name (`kind == "rotation"`, `kind in ("count", ...)`)."""
    from simedit.render.plan.edits import KINDS

    names = set(KINDS)
    offenders = []
    for module, path in modules().items():
        if module.startswith("simedit.render.plan.edits"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            for side in [node.left, *node.comparators]:
                elts = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                if any(isinstance(e, ast.Constant) and e.value in names for e in elts):
                    offenders.append(f"{module}:{node.lineno}")
    assert not offenders, offenders
