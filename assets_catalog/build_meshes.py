"""Build the built-in low-poly meshes under assets_catalog/meshes/ (run once; outputs are committed).

    python assets_catalog/build_meshes.py

Everything is made with trimesh primitives and revolved profiles, in meters, Z up, resting on
z=0, so the result is deterministic (no randomness) and a user never needs to run this.
Revolved profiles are (radius, z) polylines from the axis at the bottom to the axis at the
top, counterclockwise, so `revolve` yields a closed solid with outward normals; hollow
objects (cups, bowls, pots) go up the outer wall, over the rim and down the inner wall.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import trimesh
from trimesh.creation import box, cone, cylinder, icosphere, revolve, torus

OUT = Path(__file__).resolve().parent / "meshes"
CM = 0.01
SECTIONS = 48  # around the axis: smooth enough silhouettes at a few thousand faces


def lathe(points_cm: list[tuple[float, float]], sections: int = SECTIONS) -> trimesh.Trimesh:
    return revolve(np.asarray(points_cm, float) * CM, sections=sections)


def shell(outer_cm: list[tuple[float, float]], thickness_cm: float, floor_cm: float) -> list[tuple[float, float]]:
    """Closed profile of a hollow vessel: `outer` from the bottom centre up to the rim, then the
    same wall offset inwards by `thickness` back down to a floor at height `floor`."""
    pts = list(outer_cm)
    inner = [(r - thickness_cm, z) for r, z in reversed(outer_cm[1:]) if z >= floor_cm]
    return pts + inner + [(0.0, floor_cm)]


def arc_tube(center: np.ndarray, radius: float, tube: float, a0: float, a1: float, axes: tuple[int, int],
             n: int = 24, k: int = 10) -> trimesh.Trimesh:
    """A torus segment: a tube of radius `tube` along a circular arc in the plane of `axes`
    (angles in radians), capped at both ends. Used for mug and bucket handles."""
    u, v = np.zeros(3), np.zeros(3)
    u[axes[0]], v[axes[1]] = 1.0, 1.0
    normal = np.cross(u, v)
    rings = []
    for t in np.linspace(a0, a1, n):
        radial = np.cos(t) * u + np.sin(t) * v
        c = center + radius * radial
        rings.append([c + tube * (np.cos(s) * radial + np.sin(s) * normal)
                      for s in np.linspace(0, 2 * np.pi, k, endpoint=False)])
    verts = np.asarray(rings).reshape(-1, 3)
    faces = []
    for i in range(n - 1):
        for j in range(k):
            a, b = i * k + j, i * k + (j + 1) % k
            faces += [[a, b + k, b], [a, a + k, b + k]]
    # caps: fan around an added centre vertex at each end
    for ring, flip in ((0, True), (n - 1, False)):
        ci = len(verts)
        verts = np.vstack([verts, np.mean(verts[ring * k:(ring + 1) * k], axis=0)])
        for j in range(k):
            a, b = ring * k + j, ring * k + (j + 1) % k
            faces.append([ci, b, a] if flip else [ci, a, b])
    mesh = trimesh.Trimesh(verts, np.asarray(faces), process=True)
    mesh.fix_normals()
    return mesh


def at(mesh: trimesh.Trimesh, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> trimesh.Trimesh:
    mesh.apply_translation([x * CM, y * CM, z * CM])
    return mesh


def union(*parts: trimesh.Trimesh) -> trimesh.Trimesh:
    # plain concatenation (no boolean backend offline): parts overlap, which renders fine
    return trimesh.util.concatenate(list(parts))


def on_floor(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    mesh.apply_translation([0.0, 0.0, -mesh.bounds[0, 2]])
    return mesh


# ---------------------------------------------------------------- tableware

def coffee_mug() -> trimesh.Trimesh:
    # slightly bellied hollow body, 9 cm tall, 8.4 cm wide, torus-segment handle on +X
    outer = [(0, 0), (3.7, 0), (4.0, 0.4), (4.2, 3.0), (4.2, 6.5), (4.1, 9.0)]
    body = lathe(shell(outer, 0.35, 0.6))
    handle = arc_tube(np.array([4.0, 0.0, 4.6]) * CM, 2.6 * CM, 0.5 * CM, -1.25, 1.25, (0, 2))
    return union(body, handle)


def cup() -> trimesh.Trimesh:
    return lathe(shell([(0, 0), (3.1, 0), (3.3, 0.4), (4.3, 9.5)], 0.3, 0.5))


def tumbler() -> trimesh.Trimesh:
    # thick-bottomed drinking glass
    return lathe(shell([(0, 0), (3.4, 0), (3.5, 0.2), (4.0, 10.5)], 0.3, 1.2))


def bowl() -> trimesh.Trimesh:
    t = np.linspace(0.0, 1.0, 10)
    curve = [(3.6 + 4.6 * np.sin(a * np.pi / 2), 0.5 + 6.5 * (1 - np.cos(a * np.pi / 2))) for a in t]
    outer = [(0, 0), (3.6, 0)] + curve
    return lathe(shell(outer, 0.4, 0.9))


def plate() -> trimesh.Trimesh:
    return lathe([(0, 0), (8.0, 0), (8.3, 0.5), (12.6, 1.8), (13.0, 2.1), (12.6, 2.1),
                  (8.0, 0.9), (0, 0.9)])


def ramekin() -> trimesh.Trimesh:
    return lathe(shell([(0, 0), (4.3, 0), (4.6, 0.3), (4.6, 4.6), (4.5, 5.0)], 0.45, 0.8))


# ---------------------------------------------------------------- bottles and containers

def bottle() -> trimesh.Trimesh:
    # plastic water bottle with cap
    return lathe([(0, 0), (3.1, 0), (3.3, 0.4), (3.3, 4.0), (3.1, 5.0), (3.3, 6.0), (3.3, 14.5),
                  (2.9, 17.0), (1.6, 19.5), (1.4, 20.0), (1.5, 20.2), (1.5, 22.0), (0, 22.0)])


def wine_bottle() -> trimesh.Trimesh:
    return lathe([(0, 0), (3.6, 0), (3.7, 0.3), (3.7, 19.0), (3.5, 20.5), (2.4, 22.5), (1.5, 24.5),
                  (1.4, 28.5), (1.6, 28.8), (1.6, 30.0), (0, 30.0)])


def soda_can() -> trimesh.Trimesh:
    return lathe([(0, 0.3), (2.5, 0), (2.7, 0), (3.3, 0.9), (3.3, 10.9), (2.7, 11.9), (2.7, 12.2),
                  (2.6, 12.2), (2.45, 11.85), (0, 11.85)])


def soup_can() -> trimesh.Trimesh:
    # tin can with rolled rims and a few ridges along the side
    pts = [(0, 0.2), (3.6, 0.2), (3.8, 0), (3.85, 0.3)]
    for z in np.arange(2.0, 9.0, 1.5):
        pts += [(3.78, z - 0.3), (3.72, z), (3.78, z + 0.3)]
    pts += [(3.85, 9.7), (3.8, 10.0), (3.6, 9.8), (0, 9.8)]
    return lathe(pts)


def jar() -> trimesh.Trimesh:
    # mason jar with a screw lid
    return lathe([(0, 0), (4.0, 0), (4.3, 0.4), (4.3, 10.0), (4.0, 11.0), (3.6, 11.6), (3.6, 12.0),
                  (3.8, 12.0), (3.8, 13.6), (3.6, 13.8), (0, 13.8)])


def vase() -> trimesh.Trimesh:
    outer = [(0, 0), (4.0, 0), (4.4, 1.0), (6.2, 6.0), (6.5, 9.0), (5.5, 14.0), (3.2, 19.0),
             (3.0, 21.5), (3.6, 24.0), (4.4, 25.0)]
    return lathe(shell(outer, 0.45, 17.0))


def flower_pot() -> trimesh.Trimesh:
    outer = [(0, 0), (5.0, 0), (6.6, 10.0), (7.3, 10.1), (7.5, 12.5)]
    return lathe(shell(outer, 0.5, 1.0))


def bucket() -> trimesh.Trimesh:
    body = lathe(shell([(0, 0), (10.0, 0), (10.2, 0.5), (12.0, 21.0), (12.4, 21.3), (12.4, 22.0)],
                       0.4, 0.6))
    # wire bail handle standing up, hinged on two ears just below the rim
    handle = arc_tube(np.array([0.0, 0.0, 19.5]) * CM, 12.6 * CM, 0.3 * CM, 0.0, np.pi, (0, 2), n=40, k=8)
    ears = [at(cylinder(1.0 * CM, 0.6 * CM, sections=12,
                        transform=trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0])),
               x=s * 12.1, z=19.5) for s in (-1, 1)]
    return union(body, handle, *ears)


# ---------------------------------------------------------------- boxes, books, blocks

def cardboard_box() -> trimesh.Trimesh:
    # closed box with a strip of packing tape along the top seam
    return union(at(box([0.30, 0.20, 0.15]), z=7.5), at(box([0.306, 0.05, 0.002]), z=15.1))


def cereal_box() -> trimesh.Trimesh:
    return at(box([0.19, 0.07, 0.28]), z=14.0)


def book() -> trimesh.Trimesh:
    # hardback lying flat: two cover boards, a spine, and the page block set back from the edges
    w, d, h, c = 15.5, 23.5, 3.2, 0.25
    covers = [at(box([w * CM, d * CM, c * CM]), z=z) for z in (c / 2, h - c / 2)]
    spine = at(box([c * CM, d * CM, h * CM]), x=-w / 2 + c / 2, z=h / 2)
    pages = at(box([(w - 0.5) * CM, (d - 0.6) * CM, (h - 2 * c) * CM]), x=-0.25 + c / 2, z=h / 2)
    return union(*covers, spine, pages)


def toy_cube() -> trimesh.Trimesh:
    # 4 cm toy block with rounded edges: the hull of small spheres at the corners
    r, s = 0.45, 2.0 - 0.45
    corners = [icosphere(1, r * CM).apply_translation(np.array(c) * s * CM)
               for c in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3)]
    return on_floor(trimesh.util.concatenate(corners).convex_hull)


def pyramid_block() -> trimesh.Trimesh:
    pts = np.array([[-2.5, -2.5, 0], [2.5, -2.5, 0], [2.5, 2.5, 0], [-2.5, 2.5, 0], [0, 0, 4.5]]) * CM
    return trimesh.convex.convex_hull(pts)


# ---------------------------------------------------------------- balls

def tennis_ball() -> trimesh.Trimesh:
    return on_floor(icosphere(3, 3.35 * CM))


def basketball() -> trimesh.Trimesh:
    # sphere with shallow grooves along two great circles and the two curved side seams
    mesh = icosphere(4, 12.0 * CM)
    v = mesh.vertices / (12.0 * CM)
    curved = np.abs(np.hypot(v[:, 0], v[:, 2]) - 0.75) < 0.025  # circles around +-Y
    groove = (np.abs(v[:, 0]) < 0.025) | (np.abs(v[:, 2]) < 0.025) | (curved & (np.abs(v[:, 1]) > 0.3))
    mesh.vertices[groove] *= 0.985
    return on_floor(mesh)


# ---------------------------------------------------------------- other everyday things

def traffic_cone() -> trimesh.Trimesh:
    return lathe([(0, 0), (9.0, 0), (9.0, 1.5), (7.2, 1.5), (6.6, 3.0), (1.7, 29.0), (1.4, 30.0), (0, 30.0)],
                 sections=32)


def pencil() -> trimesh.Trimesh:
    # hexagonal body lying along X, sharpened cone tip, metal ferrule and eraser at the back
    rot = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0])
    r = 0.6 * CM  # corner radius: 1.04 cm across the flats
    body = cylinder(r, 16.0 * CM, sections=6, transform=rot)
    tip = cone(r, 2.2 * CM, sections=6, transform=trimesh.transformations.translation_matrix([8.0 * CM, 0, 0]) @ rot)
    ferrule = at(cylinder(0.56 * CM, 1.2 * CM, sections=16, transform=rot), x=-8.5)
    eraser = at(cylinder(0.54 * CM, 0.9 * CM, sections=16, transform=rot), x=-9.5)
    # a flat of the hexagon faces down so the pencil lies stable
    return on_floor(union(body, tip, ferrule, eraser).apply_transform(
        trimesh.transformations.rotation_matrix(np.pi / 6, [1, 0, 0])))


def candle() -> trimesh.Trimesh:
    # pillar candle with a slightly sunken top and a wick
    wax = lathe([(0, 0), (3.5, 0), (3.5, 11.8), (3.3, 12.0), (2.8, 11.6), (0, 11.5)])
    wick = at(cylinder(0.12 * CM, 1.4 * CM, sections=8), z=12.0)
    return union(wax, wick)


def toy_ring() -> trimesh.Trimesh:
    # a ring-toss ring: large and thin (13 cm across, a 9 cm hole, 2 cm tall), so it never looks like
    # the fat, iced donut (issue 11: the two looked the same)
    return on_floor(torus(5.6 * CM, 1.0 * CM, major_sections=64, minor_sections=16))


def egg() -> trimesh.Trimesh:
    # ellipsoid with one blunter end, lying on its side along X
    mesh = icosphere(3, 1.0)
    v = mesh.vertices
    x = v[:, 2] * 2.85 * CM  # long axis
    taper = 1.0 + 0.12 * v[:, 2]  # wider at the blunt end
    mesh.vertices = np.column_stack([x, v[:, 0] * 2.2 * CM * taper, v[:, 1] * 2.2 * CM * taper])
    return on_floor(mesh)


# ---- textured meshes: written with their own UVs (trimesh primitives carry none)
DOMINO_TEXTURE = "pybullet_data:domino/domino.jpg"  # a 2048x1024 atlas of 36 domino faces on white
DOMINO_FACE_PX = (271, 135, 497, 242)  # the 6|1 tile's face in that atlas (x0, y0, x1, y1), inside its black outline
DOMINO_WHITE_PX = (921, 31, 1126, 51)  # plain white margin above the tiles, for the thin sides


def domino() -> str:
    """A jumbo domino (8.1 x 4.1 x 1.0 cm: pybullet_data's domino.obj at 1.6x), standing on a short
    end, as an OBJ with UVs into pybullet_data's domino.jpg.

    pybullet's own domino.obj maps its +Y broad face, and most of the thin sides, onto a 3-pixel
    patch of the atlas's black background, so it rendered as a black slab wherever that face was
    seen (issue 11). Here both broad faces show the 6|1 face and the thin sides plain white."""
    w, t, h = 2.54 * 1.6 * CM, 0.635 * 1.6 * CM, 5.08 * 1.6 * CM  # x, y, z extents
    x, y, z = w / 2, t / 2, h / 2

    def uv_rect(px: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
        (x0, y0, x1, y1), (W, H) = px, (2048, 1024)
        return x0 / W, 1 - y1 / H, x1 / W, 1 - y0 / H  # u0, v0, u1, v1 (v up)

    face, white = uv_rect(DOMINO_FACE_PX), uv_rect(DOMINO_WHITE_PX)
    # each quad: its 4 corners counterclockwise seen from outside, its normal, the atlas rectangle it shows
    quads = [
        ([(-x, -y, -z), (x, -y, -z), (x, -y, z), (-x, -y, z)], (0, -1, 0), face),
        ([(x, y, -z), (-x, y, -z), (-x, y, z), (x, y, z)], (0, 1, 0), face),
        ([(x, -y, -z), (x, y, -z), (x, y, z), (x, -y, z)], (1, 0, 0), white),
        ([(-x, y, -z), (-x, -y, -z), (-x, -y, z), (-x, y, z)], (-1, 0, 0), white),
        ([(-x, -y, z), (x, -y, z), (x, y, z), (-x, y, z)], (0, 0, 1), white),
        ([(-x, y, -z), (x, y, -z), (x, -y, -z), (-x, -y, -z)], (0, 0, -1), white),
    ]
    lines = [f"# jumbo domino textured by {DOMINO_TEXTURE} (made by assets_catalog/build_meshes.py)"]
    for k, (corners, normal, (u0, v0, u1, v1)) in enumerate(quads):
        lines += [f"v {cx:.5f} {cy:.5f} {cz:.5f}" for cx, cy, cz in corners]
        if k < 2:  # a broad face: the tile's long side along the domino's (Z), unmirrored from outside
            pts = [((cz + z) / h, (cx + x) / w if k == 0 else (x - cx) / w) for cx, _, cz in corners]
        else:  # a thin side: anywhere in the white patch
            pts = [(0, 0), (1, 0), (1, 1), (0, 1)]
        lines += [f"vt {u0 + (u1 - u0) * a:.6f} {v0 + (v1 - v0) * b:.6f}" for a, b in pts]
        lines.append(f"vn {normal[0]} {normal[1]} {normal[2]}")
    lines.append("s off")
    for k in range(6):
        i = 4 * k + 1
        lines.append(" ".join(["f"] + [f"{i + j}/{i + j}/{k + 1}" for j in range(4)]))
    return "\n".join(lines) + "\n"


DONUT_MAJOR_CM, DONUT_TUBE_CM, DONUT_SQUASH = 3.4, 1.7, 0.85  # 10 cm across, a 3.4 cm hole, 2.9 cm tall
DONUT_ICING = (243, 149, 179)  # sRGB of the palette's pink (linear 0.90, 0.30, 0.45): a "pink donut"
DONUT_DOUGH = (200, 140, 78)  # fried dough
DONUT_BAND = (236, 205, 150)  # the pale band round a fried donut's middle
SPRINKLES = [(250, 250, 250), (60, 120, 230), (250, 215, 40), (90, 190, 90), (230, 70, 60)]


def donut_texture(width: int = 512, height: int = 256) -> "Image.Image":
    """The donut's texture: u goes round the ring, v round the tube (v = 0 and 1 on the outer
    equator, 0.25 on top, 0.5 on the inner equator, 0.75 underneath). Pink icing over the top
    with a wavy edge, sprinkles on it, fried dough below with a pale middle band."""
    from PIL import Image

    rng = np.random.default_rng(11)  # fixed: the file is byte-identical on every build
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    uu, vv = np.meshgrid(u, v)
    phi = vv * 2 * np.pi  # angle round the tube from the outer equator, upwards
    phi = np.where(phi > 1.5 * np.pi, phi - 2 * np.pi, phi)  # -pi/2..3pi/2: just below the outer equator < 0
    wave = 0.12 * np.sin(uu * 2 * np.pi * 9) + 0.06 * np.sin(uu * 2 * np.pi * 23 + 1.0)
    icing = (phi > -0.25 + wave) & (phi < np.pi + 0.3 - wave)  # over the top, a little down each side
    band = np.abs(np.sin(phi)) < 0.22  # near the outer and inner equators
    img = np.empty((height, width, 3), float)
    img[:] = DONUT_DOUGH
    img[band] = DONUT_BAND
    img[icing] = DONUT_ICING
    for _ in range(260):  # sprinkles: short dashes on the icing, away from its edge
        cu, cv = rng.uniform(0, 1), rng.uniform(0.03, 0.47)
        angle = rng.uniform(0, np.pi)
        color = SPRINKLES[int(rng.integers(len(SPRINKLES)))]
        for t in np.linspace(-1, 1, 9):
            x = int(cu * width + t * 5 * np.cos(angle)) % width
            y = int(cv * height + t * 5 * np.sin(angle) * height / width * 2)
            if 0 <= y < height and icing[y, x] and icing[min(y + 3, height - 1), x] and icing[max(y - 3, 0), x]:
                img[max(y - 1, 0):y + 1, max(x - 1, 0):x + 2] = color
    return Image.fromarray(np.round(img).astype(np.uint8)[::-1], "RGB")  # image rows run top (v = 1) down


def donut() -> str:
    """A ring donut (a torus squashed a little) as an OBJ with UVs into donut.png (donut_texture)."""
    nu, nv = 48, 24  # round the ring, round the tube
    R, r = DONUT_MAJOR_CM * CM, DONUT_TUBE_CM * CM
    lines = ["# pink iced donut textured by donut.png (made by assets_catalog/build_meshes.py)"]
    for i in range(nu + 1):  # the seams repeat a row and a column of vertices with u = 1 or v = 1
        theta = 2 * np.pi * i / nu
        for j in range(nv + 1):
            phi = 2 * np.pi * j / nv
            px = (R + r * np.cos(phi)) * np.cos(theta)
            py = (R + r * np.cos(phi)) * np.sin(theta)
            pz = r * np.sin(phi) * DONUT_SQUASH + r * DONUT_SQUASH  # resting on z = 0
            n = np.array([np.cos(phi) * np.cos(theta), np.cos(phi) * np.sin(theta), np.sin(phi) / DONUT_SQUASH])
            n /= np.linalg.norm(n)
            lines.append(f"v {px:.5f} {py:.5f} {pz:.5f}")
            lines.append(f"vt {i / nu:.6f} {j / nv:.6f}")
            lines.append(f"vn {n[0]:.5f} {n[1]:.5f} {n[2]:.5f}")
    for i in range(nu):
        for j in range(nv):
            a, b = i * (nv + 1) + j + 1, (i + 1) * (nv + 1) + j + 1  # 1-based
            quad = (a, b, b + 1, a + 1)  # counterclockwise seen from outside
            lines.append("f " + " ".join(f"{k}/{k}/{k}" for k in quad))
    return "\n".join(lines) + "\n"


TEXTURED: dict[str, Callable[[], str]] = {"domino": domino, "donut": donut}
TEXTURES = {"donut.png": donut_texture}


# Low-res collision stand-ins: physics uses the convex hull of the collision mesh, and a hull of
# thousands of sphere vertices only slows contact queries. Same frame as the render mesh.
def tennis_ball_col() -> trimesh.Trimesh:
    return on_floor(icosphere(2, 3.35 * CM))


def basketball_col() -> trimesh.Trimesh:
    return on_floor(icosphere(2, 12.0 * CM))


def unit_ball_col() -> trimesh.Trimesh:
    # diameter 1, centered: matches pybullet_data's soccerball.obj in its own file units
    return icosphere(2, 0.5)


BUILDERS: dict[str, Callable[[], trimesh.Trimesh]] = {
    f.__name__: f for f in (
        coffee_mug, cup, tumbler, bowl, plate, ramekin, bottle, wine_bottle, soda_can, soup_can, jar,
        vase, flower_pot, bucket, cardboard_box, cereal_box, book, toy_cube, pyramid_block,
        tennis_ball, basketball, traffic_cone, pencil, candle, toy_ring, egg,
        tennis_ball_col, basketball_col, unit_ball_col)
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        mesh = build()
        mesh.merge_vertices()
        path = OUT / f"{name}.obj"
        # digits=5: 10 micrometers resolution keeps files small and byte-identical across runs
        path.write_text(trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_texture=False,
                                                          digits=5, header=None))
        ext = np.round(mesh.extents / CM, 1)
        print(f"{name:15s} faces={len(mesh.faces):5d} size={path.stat().st_size // 1024:4d} KB extents_cm={ext}")
    for name, write in TEXTURED.items():
        path = OUT / f"{name}.obj"
        path.write_text(write())
        print(f"{name:15s} textured, {path.stat().st_size} bytes")
    for name, draw in TEXTURES.items():
        path = OUT / name
        draw().save(path, optimize=True)
        print(f"{name:15s} texture, {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
