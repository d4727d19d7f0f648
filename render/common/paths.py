"""Where the data that ships with simedit lives: templates, built-in scene specs, the built-in
catalog. In a wheel they are package data beside `simedit/render` (`simedit/templates`, ...);
in an editable install they are the repository's top-level folders beside `render/`. Both are
the parent of this package's folder, so one rule finds them either way."""
from __future__ import annotations

from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = DATA_ROOT / "templates"
SCENES_DIR = DATA_ROOT / "scenes"
CATALOG_DIR = DATA_ROOT / "assets_catalog"
BUILTIN_CATALOG = CATALOG_DIR / "builtin.yaml"
