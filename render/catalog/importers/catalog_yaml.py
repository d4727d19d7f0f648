"""The imported catalog as a file: the built-in palette it starts from, and the YAML written
for it (a header explaining the proposals, then hand-editable entries), written atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simedit.render.catalog.tags import TAG_RULES
from simedit.render.common.atomic import atomic_write
from simedit.render.common.paths import BUILTIN_CATALOG
from simedit.render.common.yaml_file import read_yaml

# the tag rules come from tags.py, so the header cannot drift from what inference does
HEADER = (
    "# Imported by `catalog import` (render/catalog/importers). Edit any field: `catalog import --refresh`\n"
    "# keeps your edits (a field that differs from `proposed:` is yours) and refreshes the rest.\n"
    "# Names come from the models' own words (assets_catalog/lexicon.yaml; `evidence.name_from` says how),\n"
    "# colors from their textures (assets_catalog/color_words.yaml; `evidence.color_shares`).\n"
    "# Tags were inferred from geometry and physics (render/catalog/tags.py; `evidence:` has the measurements):\n"
    + "".join(f"#   {tag}: {rule}\n" for tag, rule in TAG_RULES.items())
    + "# mesh_scale turns mesh units into meters; `size_source` says how it was chosen.\n"
)


def builtin_palette() -> dict[str, list[float]]:
    """The built-in catalog's color words (linear RGB): an imported catalog starts with them."""
    raw = read_yaml(BUILTIN_CATALOG, "catalog")
    return {k: [float(c) for c in v] for k, v in raw["colors"].items()}


def write_catalog(path: Path, palette: dict[str, list[float]], entries: list[dict[str, Any]]) -> None:
    # libyaml's emitter when PyYAML has it: a 1,000-model catalog is written every checkpoint
    class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:  # no &id001 anchors: entries stay hand-editable
            return True

    def _list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:  # short scalar lists in flow style
        flow = all(not isinstance(x, (dict, list)) for x in data) and len(data) <= 8
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    _Dumper.add_representer(list, _list)
    _Dumper.add_representer(tuple, _list)
    body = yaml.dump({"colors": palette, "assets": entries}, Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=110)
    atomic_write(path, HEADER + body, mkdir=True)
