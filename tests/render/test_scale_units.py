"""Scaling out without rendering: slots per GPU, shard quotas, chunk retries, the GPU process
environment and kernel files, and merging synthetic shards (real runs: test_scale_runs.py)."""
from __future__ import annotations

import io
import json
import math
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zstandard

from simedit.render.common.errors import SimEditError
from simedit.render.gpu import cache, kernels, preflight
from simedit.render.gpu.cuda import CudaDevice, CudaInfo
from simedit.render.gpu.env import prepare_render_process
from simedit.render.run.executors.chunks import ChunkQueue
from simedit.render.run.shard import Shard
from simedit.render.run.slots import Resources, plan_slots
from simedit.render.rundir.contract import read_manifest
from simedit.render.rundir.merge import merge_runs
from simedit.render.rundir.writer import RunWriter, make_record

ROOT = Path(__file__).resolve().parents[2]
H100 = CudaDevice(index=0, name="NVIDIA H100 80GB HBM3", major=9, minor=0, memory_bytes=80 << 30, pci_bus_id="0000:01:00.0")


def test_one_slot_per_gpu_and_workers_per_gpu():
    assert plan_slots("GPU", None, Resources(cpus=16, gpus=4)).slots == 4
    plan = plan_slots("GPU", 2, Resources(cpus=16, gpus=4))
    assert (plan.slots, plan.per_gpu, plan.gpus_per_slot, plan.threads) == (8, 2, 0.5, 2)
    assert plan_slots("GPU", None, Resources(cpus=2, gpus=0)).gpus == 0  # falls back to one CPU slot
    cpu = plan_slots("CPU", None, Resources(cpus=16, gpus=0))
    assert (cpu.slots, cpu.threads) == (4, 4)
    # more slots than cores: a cluster is asked for fractions, never more than it has
    many = plan_slots("CPU", 4, Resources(cpus=2, gpus=0))
    assert many.threads == 1 and many.cpus_per_slot * many.slots <= 2


def test_shard_indices_and_quota():
    assert Shard.parse("1/4") == Shard(1, 4)
    for bad in ("4/4", "1", "-1/2", "a/b", "1/0"):
        with pytest.raises(SimEditError, match="--shard"):
            Shard.parse(bad)
    n, count = 10, 3
    shards = [Shard(k, count) for k in range(count)]
    # without exhausted indices, the shards' first quota indices cover 0..n-1 and then some
    covered = sorted(k + count * j for s in shards for k in [s.index] for j in range(s.quota(n)))
    assert covered[:n] == list(range(n))
    assert sum(s.quota(n) for s in shards) == n + count  # one spare pair per shard
    assert Shard(5, 8).quota(4) == 1  # a shard past n still leaves a spare


def test_lost_chunks_go_first_and_stop_after_three_tries():
    it = iter(range(7))
    q = ChunkQueue(lambda: next(it, None), size=3)
    a, b = q.take(), q.take()
    assert (a.indices, b.indices) == ([0, 1, 2], [3, 4, 5])
    q.lost(a, "node died")
    assert q.take() is a  # before any new index
    assert q.take().indices == [6] and q.take() is None
    q.lost(b, "x")
    q.lost(q.take(), "x")
    with pytest.raises(SimEditError, match=r"3\.\.5 were lost 3 times"):
        q.lost(q.take(), "x")


def test_render_process_is_pinned_to_its_gpu_with_a_persistent_cache(tmp_path):
    env = {"CUDA_VISIBLE_DEVICES": "2,3", "SIMEDIT_CACHE_DIR": str(tmp_path / "c")}
    prepare_render_process(1, env)
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert env["CUDA_CACHE_PATH"] == str(tmp_path / "c" / "cuda") and int(env["CUDA_CACHE_MAXSIZE"]) == 4 << 30
    assert (tmp_path / "c" / "cuda").is_dir()
    mine = {"CUDA_CACHE_PATH": "/mine", "HOME": str(tmp_path)}
    prepare_render_process(0, mine)
    assert mine["CUDA_CACHE_PATH"] == "/mine" and mine["CUDA_VISIBLE_DEVICES"] == "0"


def test_kernel_status_names_the_missing_datacenter_kernels(tmp_path, monkeypatch):
    lib = kernels.cycles_lib_dir()
    assert lib is not None and (lib / "kernel_compute_75.ptx.zst").is_file()
    assert "sm_89" in kernels.shipped_cubins(lib)
    for arch in kernels.DATACENTER_ARCHS:
        status = kernels.kernel_status(arch, lib)
        assert status.needs_jit and status.ptx.name == "kernel_compute_75.ptx.zst", status
    assert not kernels.kernel_status("sm_86", lib).needs_jit
    # the one line a cold GPU run prints, and none once a render left the kernel in the cache
    monkeypatch.setenv("SIMEDIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CUDA_CACHE_PATH", raising=False)
    info = CudaInfo(devices=[H100], driver="570.86.15", driver_cuda="12.8")
    (line,) = preflight.jit_lines(info)
    assert "H100" in line and "sm_90" in line and "10 minutes" in line and str(tmp_path / "cuda") in line
    assert "\n" not in line and "render gpu-setup" in line
    preflight.note_first_render(info)
    assert preflight.jit_lines(info) == []
    assert preflight.gpu_lines(CudaInfo(error="no CUDA device visible"), 1)[0].startswith("warning:")


def test_gpu_setup_compiles_with_ptxas_and_installs(tmp_path):
    """The whole gpu-setup path with a stand-in ptxas (the real one takes 8 minutes): the shipped
    PTX decompressed, ptxas called for each architecture, cubins zstd-compressed under the names
    Cycles looks for; --from installs them."""
    fake = tmp_path / "ptxas"
    fake.write_text("#!/bin/sh\n"
                    "if [ \"$1\" = --version ]; then echo 'Cuda compilation tools, release 12.8, V12.8.93'; exit 0; fi\n"
                    "arch=$1; out=$3; src=$4\n"
                    "head -c 4000 \"$src\" | grep -q '^.version' || exit 3\n"
                    "printf 'cubin for %s' \"$arch\" > \"$out\"\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "kernels"
    run = subprocess.run([sys.executable, "-m", "simedit.render.gpu.setup", "--arch", "sm_80", "--arch", "90",
                          "--ptxas", str(fake), "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "compiling kernel_sm_80.cubin.zst, kernel_sm_90.cubin.zst from kernel_compute_75.ptx.zst" in run.stdout
    data = (out / "kernel_sm_90.cubin.zst").read_bytes()
    # Cycles takes the decompressed size from the frame header: without it the kernel fails to load
    assert zstandard.frame_content_size(data) == len(b"cubin for -arch=sm_90")
    assert zstandard.ZstdDecompressor().decompress(data) == b"cubin for -arch=sm_90"
    status = kernels.kernel_status("sm_90", out)
    assert not status.needs_jit and "compiled by gpu-setup" in status.describe() and "12.8" in status.describe()
    lib = tmp_path / "lib"
    lib.mkdir()
    kernels.install_cubins(out, lib)
    assert sorted(p.name for p in lib.iterdir()) == ["kernel_sm_80.cubin.zst", "kernel_sm_80.cubin.zst.simedit.json",
                                                     "kernel_sm_90.cubin.zst", "kernel_sm_90.cubin.zst.simedit.json"]
    # a cubin streamed without its size (gpu-setup before the fix, a cached Docker stage) is re-framed
    streamed = io.BytesIO()
    zstandard.ZstdCompressor().copy_stream(io.BytesIO(b"old cubin"), streamed)
    assert zstandard.frame_content_size(streamed.getvalue()) == -1
    (out / "kernel_sm_90.cubin.zst").write_bytes(streamed.getvalue())
    kernels.install_cubins(out, lib)
    assert zstandard.ZstdDecompressor().decompress((lib / "kernel_sm_90.cubin.zst").read_bytes()) == b"old cubin"
    again = subprocess.run([sys.executable, "-m", "simedit.render.gpu.setup", "--arch", "sm_90", "--ptxas", str(fake),
                            "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 0 and "sm_90: ready" in again.stdout
    bad = subprocess.run([sys.executable, "-m", "simedit.render.gpu.setup", "--arch", "gfx90"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--arch" in bad.stderr


def test_doctor_reports_here_without_a_gpu():
    run = subprocess.run([sys.executable, "-m", "simedit.render.cli", "doctor"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "bpy 4.5.15" in out and "kernel_compute_75.ptx.zst" in out and "sm_89" in out
    assert "Blender 4.5" in out and "Cycles" in out and "JIT cache: CUDA_CACHE_PATH=" in out
    assert "no GPU" in out or "GPU 0" in out


# --- merging shards, on synthetic runs --------------------------------------------------------------

class Fake:
    """A rendered image standing in for Cycles: a function of the index only."""

    def __init__(self, index: int, side: int):
        rng = np.random.default_rng([index, side])
        self.rgb = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        self.mask = rng.integers(0, 3, (8, 8)).astype(np.uint16)
        self.depth = None


def outcome(i: int) -> str:
    return "exhausted" if i in (3, 8) else "accepted"  # two indices that use up their attempts


def write(root: Path, indices, n: int, shard: dict | None = None) -> None:
    record = make_record(spec={"s": 1}, spec_path="s.yaml", spec_hash="h", catalog_path="c", catalog_hash="c",
                         versions={}, argv=["render", "--spec", "s.yaml", "--n", str(n), "--out", str(root)]
                         + (["--shard", f"{shard['index']}/{shard['count']}"] if shard else []),
                         render_options={"target_region": True}, shard=shard)
    with RunWriter(root, record) as w:
        for i in indices:
            w.write_reject(i, 0, "occluded", f"index {i}")
            if outcome(i) == "exhausted":
                w.write_exhausted(i)
            else:
                w.write_pair({"index": i, "instruction": f"do {i}", "edit": {"objects": []}}, Fake(i, 0), Fake(i, 1))
        w.finalize(n if shard is None else Shard(shard["index"], shard["count"]).quota(n))


def shard_indices(k: int, count: int, n: int) -> list[int]:
    """What shard k renders: its indices in order until its quota is accepted."""
    out, accepted, i = [], 0, k
    while accepted < Shard(k, count).quota(n):
        out.append(i)
        accepted += outcome(i) == "accepted"
        i += count
    return out


def test_merged_shards_equal_one_run_byte_for_byte(tmp_path):
    n, count = 7, 3
    single = tmp_path / "single"
    write(single, range(12), n)
    parts = []
    for k in range(count):
        parts.append(tmp_path / f"part{k}")
        write(parts[-1], shard_indices(k, count, n), n, Shard(k, count).to_record(n))
    report = merge_runs(tmp_path / "merged", list(reversed(parts)))
    assert report.complete and report.pairs == n
    merged = tmp_path / "merged"
    for name in ("manifest.jsonl", "rejects.jsonl"):
        assert (merged / name).read_bytes() == (single / name).read_bytes(), name
    files = sorted(p.relative_to(single) for p in single.rglob("*.png"))
    assert files == sorted(p.relative_to(merged) for p in merged.rglob("*.png")) and len(files) == 2 * 2 * n
    assert all((single / f).read_bytes() == (merged / f).read_bytes() for f in files)
    record = json.loads((merged / "run.json").read_text())
    assert "shard" not in record and record["merged_from"] == [str(p) for p in parts]
    assert "--shard" not in record["command"] and record["command"][-2:] == ["--out", str(merged)]
    # merging again changes nothing
    again = merge_runs(merged, parts)
    assert again.complete and (merged / "manifest.jsonl").read_bytes() == (single / "manifest.jsonl").read_bytes()


def test_short_or_missing_shards_are_named(tmp_path):
    n, count = 7, 2
    parts = [tmp_path / f"part{k}" for k in range(count)]
    write(parts[0], shard_indices(0, count, n), n, Shard(0, count).to_record(n))
    write(parts[1], shard_indices(1, count, n)[:2], n, Shard(1, count).to_record(n))  # interrupted early
    report = merge_runs(tmp_path / "m", parts)
    assert not report.complete and report.short == [1] and report.covered == 5
    assert [r["index"] for r in read_manifest(tmp_path / "m")] == [0, 1, 2, 4]
    assert report.finish.startswith("render --spec s.yaml --n 7 --out") and "--shard" not in report.finish
    with pytest.raises(SimEditError, match="shard.*1/2 missing"):
        merge_runs(tmp_path / "m2", parts[:1])
    with pytest.raises(SimEditError, match="given twice"):
        merge_runs(tmp_path / "m3", [parts[0], parts[0]])
    other = tmp_path / "other"
    write(other, [1], n, Shard(1, 3).to_record(n))
    with pytest.raises(SimEditError, match="a shard of 3"):
        merge_runs(tmp_path / "m4", [parts[0], other])
    with pytest.raises(SimEditError, match="no shard"):
        merge_runs(tmp_path / "m5", [tmp_path / "m"])
    # a shard directory refuses to continue as another shard
    with pytest.raises(SimEditError, match="different shard"):
        write(parts[0], [1], n, Shard(1, count).to_record(n))
