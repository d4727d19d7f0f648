"""GPU rendering support that needs no engine: what the NVIDIA driver reports (`cuda`), which
Cycles kernel each GPU will load and compiling the missing ones ahead (`kernels`), the
persistent JIT cache (`cache`), what a GPU run says before it starts (`preflight`), and the
`render gpu-setup` / `render doctor` commands (`setup`, `doctor`).

Only `doctor` reaches the engine, through the backend's own probe in a render process; the
rest imports nothing outside the standard library but `zstandard` (a dependency of bpy), so
the Docker image's kernel-build stage can run `python -m simedit.render.gpu.setup` with just
bpy's files and the CUDA toolkit's `ptxas`.
"""
