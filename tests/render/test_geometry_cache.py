"""The asset geometry cache (catalog/geometry_cache.py): a second process reads what the first
computed, an edited mesh is computed afresh, and a broken or unwritable cache never breaks a run."""
from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from simedit.render.catalog.geometry_cache import cached_geometry, cached_measure, entry_key
from simedit.render.catalog.model import AssetGeometry, compute_geometry, load_catalog


@pytest.fixture
def mug(tmp_path, monkeypatch):
    """The built-in coffee mug, its mesh copied where the test may edit it; the cache in tmp_path."""
    monkeypatch.setenv("SIMEDIT_CACHE", str(tmp_path / "cache"))
    asset = load_catalog().get("coffee_mug")
    mesh = tmp_path / "mug.obj"
    shutil.copy(asset.render_mesh, mesh)
    return dataclasses.replace(asset, render_mesh=mesh, collision_mesh=mesh)


def counting():
    calls = []

    def compute(asset):
        calls.append(asset.id)
        return compute_geometry(asset)
    return compute, calls


def same(a: AssetGeometry, b: AssetGeometry) -> bool:
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(AssetGeometry))


def test_the_second_read_comes_from_the_cache(mug):
    compute, calls = counting()
    first = cached_geometry(mug, compute, AssetGeometry)
    second = cached_geometry(mug, compute, AssetGeometry)
    assert calls == ["coffee_mug"] and same(first, second) and same(second, compute_geometry(mug))


def test_an_edited_mesh_or_scale_is_computed_again(mug):
    compute, calls = counting()
    before = cached_geometry(mug, compute, AssetGeometry)
    lines = [f"v {float(p[1]) * 1.5} {p[2]} {p[3]}" if (p := line.split()) and p[0] == "v" else line
             for line in mug.render_mesh.read_text().splitlines()]  # the mug stretched 1.5x along x
    mug.render_mesh.write_text("\n".join(lines) + "\n")
    after = cached_geometry(mug, compute, AssetGeometry)
    bigger = cached_geometry(dataclasses.replace(mug, mesh_scale=2.0), compute, AssetGeometry)
    assert len(calls) == 3 and not same(before, after)
    assert np.allclose(bigger.extents, 2 * after.extents)


def test_a_damaged_entry_is_replaced(mug, tmp_path):
    compute, calls = counting()
    cached_geometry(mug, compute, AssetGeometry)
    entry = tmp_path / "cache" / "geometry" / f"{entry_key(mug)}.npz"
    entry.write_bytes(b"not a zip")
    assert same(cached_geometry(mug, compute, AssetGeometry), compute_geometry(mug)) and len(calls) == 2
    assert cached_geometry(mug, compute, AssetGeometry) is not None and len(calls) == 2  # stored again


def test_no_cache_when_off_or_unwritable(mug, tmp_path, monkeypatch):
    compute, calls = counting()
    monkeypatch.setenv("SIMEDIT_CACHE", "off")
    cached_geometry(mug, compute, AssetGeometry)
    cached_geometry(mug, compute, AssetGeometry)
    assert len(calls) == 2 and not (tmp_path / "cache").exists()
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SIMEDIT_CACHE", str(blocker))
    assert same(cached_geometry(mug, compute, AssetGeometry), compute_geometry(mug))


def test_a_measure_is_kept_per_name_and_mesh(mug):
    calls = []

    def measure(value):
        calls.append(value)
        return value

    assert cached_measure(mug, "fill-1", lambda: measure(0.9)) == 0.9
    assert cached_measure(mug, "fill-1", lambda: measure(0.5)) == 0.9  # read back, not measured again
    assert cached_measure(mug, "fill-2", lambda: measure(0.7)) == 0.7  # another measure, its own entry
    assert calls == [0.9, 0.7]
