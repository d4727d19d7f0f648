"""Tests written against mutants of `plan/appearance.py`: which assets an edit prefers at the
sizes a spec draws, and the outline fill kept on disk. The module caches its measures, so each
test starts from empty caches (mutmut forks mutants from a process that measured them already)."""
from __future__ import annotations

from pathlib import Path

import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.plan import appearance
from simedit.render.plan.appearance import shown, silhouette_fill
from simedit.render.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(appearance, "_seen", {})
    monkeypatch.setattr(appearance, "_fill", {})


def objects_spec(**objects):
    spec = load_spec(ROOT / "scenes/count.yaml")
    return spec.model_copy(update={"objects": spec.objects.model_copy(update=objects)})


def test_an_edit_prefers_what_shows_at_the_smallest_scale_the_spec_draws(catalog):
    # at half size a bowl (0.018 m^2 at full size) still shows 0.0044, a jar (0.012) only 0.0030
    picked = {a.id for a in shown(list(catalog.assets.values()), objects_spec(scale=[0.5, 1.5]), catalog)}
    assert {"bowl", "wine_bottle", "flower_pot"} <= picked
    assert not picked & {"jar", "tennis_ball", "soda_can", "egg", "pencil"}


def test_with_sizes_in_metres_an_egg_drawn_10_cm_long_shows_and_a_pencil_does_not(catalog):
    picked = {a.id for a in shown(list(catalog.assets.values()), objects_spec(size_m=[0.1, 0.2]), catalog)}
    assert {"egg", "bucket", "cardboard_box"} <= picked  # each drawn with its longest side 10-20 cm
    assert "pencil" not in picked  # 10 cm long, a centimetre thin


def test_when_nothing_shows_enough_every_asset_stays_eligible(catalog):
    assets = [catalog.get("egg"), catalog.get("pencil")]
    assert shown(assets, objects_spec(), catalog) == assets
    assert shown(assets, objects_spec(), catalog, min_area=1.0) == assets


def test_the_outline_fill_is_kept_on_disk_per_asset(catalog, monkeypatch, tmp_path):
    monkeypatch.setenv("SIMEDIT_CACHE", str(tmp_path))
    ring, can = catalog.get("toy_ring"), catalog.get("soda_can")
    first = silhouette_fill(ring), silhouette_fill(can)
    assert len(list((tmp_path / "geometry").glob("*.npz"))) == 2
    monkeypatch.setattr(appearance, "_fill", {})
    monkeypatch.setattr(appearance, "_measure_fill", lambda asset: pytest.fail("measured again"))
    assert (silhouette_fill(ring), silhouette_fill(can)) == first  # read back, each its own
    assert 0.55 < first[0] < 0.72 and first[1] > 0.98
