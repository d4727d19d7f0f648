"""`catalog import` throughput on generated Google Scanned Objects folders of realistic size.

    python benchmarks/catalog_import.py                 # 200 models of ~20k faces, 1024 px textures
    python benchmarks/catalog_import.py --models 20 --jobs 1

Each model is a real GSO folder (meshes/model.obj + model.mtl, materials/textures/texture.png,
model.config, metadata.pbtxt) named after a real GSO product (the titles below are real GSO
model names with their GSO category), with a shape fitting its category subdivided to about
20k faces and a scan-like texture. The whole import runs as a user's would: VHACD collision
meshes, tags with the push test, colors, snapshots and the report. Prints models per minute
and how many of the real titles got a lexicon noun (not a fallback to their raw words).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from simedit.render.catalog.importers import run_import

# (real GSO model name, its GSO category)
TITLES = [
    ("ACE_Coffee_Mug_Kristen_16_oz_cup", "Consumer Goods"), ("Cole_Hardware_Mug_Classic_Blue", None),
    ("Room_Essentials_Mug_White_Yellow", None), ("Threshold_Porcelain_Coffee_Mug_All_Over_Bead_White", None),
    ("Kong_Puppy_Teething_Rubber_Small_Pink", "Consumer Goods"), ("Vans_Cereal_Honey_Nut_Crunch_11_oz_box", "Consumer Goods"),
    ("Perricone_MD_Chia_Serum", "Consumer Goods"), ("11pro_SL_TRX_FG", "Shoe"), ("Reebok_CLASSIC_JOGGER", "Shoe"),
    ("Mens_ASV_Billfish_Boat_Shoe_in_Dark_Brown_Leather_zdHVHXueI3w", "Shoe"), ("Timberland_Mens_Classic_2Eye_Boat_Shoe", "Shoe"),
    ("UGG_Bailey_Button_Womens_Boots_Black_7", "Shoe"), ("Tory_Burch_Kiernan_Riding_Boot", "Shoe"),
    ("Cream_Tieks_Italian_Leather_Ballet_Flats", "Shoe"), ("Reef_Star_Cushion_Flipflops_Size_8_Black", "Shoe"),
    ("Mens_Striper_Sneaker_in_White_rnp8HUli59Y", "Shoe"), ("NAPA_VALLEY_NAVAJO_SANDAL", "Shoe"),
    ("Hasbro_Monopoly_Hotels_Game", "Board Games"), ("Clue_Board_Game_Classic_Edition", "Board Games"),
    ("Mad_Gab_Refresh_Card_Game", "Board Games"), ("Kid_Icarus_Uprising_Nintendo_3DS_Game", "Media Cases"),
    ("Mario_Party_9_Wii_Game", "Media Cases"), ("Blue_Jasmine_Includes_Digital_Copy_UltraViolet_DVD", "Media Cases"),
    ("Razer_Kraken_Pro_headset_Full_size_Black", "Headphones"), ("HyperX_Cloud_II_Headset_Red", "Headphones"),
    ("Razer_Naga_MMO_Gaming_Mouse", "Mouse"), ("Razer_Taipan_White_Ambidextrous_Gaming_Mouse", "Mouse"),
    ("Kanex_MultiSync_Wireless_Keyboard", "Keyboard"), ("Nikon_1_AW1_w11275mm_Lens_Silver", "Camera"),
    ("ProSport_Harness_to_Booster_Seat", "Car Seat"), ("DPC_Handmade_Hat_Brown", "Hat"),
    ("Jansport_School_Backpack_Blue_Streak", "Bag"), ("Big_Dot_Aqua_Pencil_Case", "Bag"),
    ("Olive_Kids_Dinosaur_Land_Lunch_Box", "Bag"), ("Embark_Lunch_Cooler_Blue", None),
    ("Schleich_Lion_Action_Figure", "Action Figures"), ("Nintendo_Mario_Action_Figure", "Toys"),
    ("Schleich_Bald_Eagle", "Toys"), ("Weisshai_Great_White_Shark", None), ("Squirrel", None), ("Dog", None),
    ("Lovable_Huggable_Cuddly_Boutique_Teddy_Bear_Beige", "Stuffed Toys"), ("Sootheze_Toasty_Orca", "Stuffed Toys"),
    ("LEGO_Duplo_Build_and_Play_Box_4629", "Legos"), ("Lego_Friends_Mia", "Legos"), ("SCHOOL_BUS", "Toys"),
    ("FIRE_TRUCK", "Toys"), ("MINI_EXCAVATOR", "Toys"), ("TURBOPROP_AIRPLANE_WITH_PILOT", "Toys"),
    ("HELICOPTER", "Toys"), ("SPEED_BOAT", "Toys"), ("CITY_TAXI_POLICE_CAR", "Toys"), ("TEA_SET", "Toys"),
    ("STACKING_RING", "Toys"), ("OVAL_XYLOPHONE", "Toys"), ("BIRD_RATTLE", "Toys"), ("SHAPE_SORTER", "Toys"),
    ("Threshold_Bead_Cereal_Bowl_White", "Consumer Goods"), ("Room_Essentials_Bowl_Turquiose", None),
    ("Top_Paw_Dog_Bowl_Blue_Paw_Bone_Ceramic_25_fl_oz_total", None), ("Threshold_Dinner_Plate_Square_Rim_White_Porcelain", None),
    ("Room_Essentials_Salad_Plate_Turquoise", None), ("Threshold_Ramekin_White_Porcelain", None),
    ("Threshold_Porcelain_Teapot_White", None), ("Threshold_Porcelain_Pitcher_White", None),
    ("Threshold_Porcelain_Spoon_Rest_White", "Bottles and Cans and Cups"), ("Threshold_Bamboo_Ceramic_Soap_Dish", None),
    ("Circo_Fish_Toothbrush_Holder_14995988", "Consumer Goods"), ("BIA_Cordon_Bleu_White_Porcelain_Utensil_Holder_900028", None),
    ("Down_To_Earth_Orchid_Pot_Ceramic_Lime", "Consumer Goods"), ("Ecoforms_Plant_Container_URN_SAN", "Consumer Goods"),
    ("Cole_Hardware_Flower_Pot_1025", None), ("Sapota_Threshold_4_Ceramic_Round_Planter_Red", "Consumer Goods"),
    ("Calphalon_Kitchen_Essentials_12_Cast_Iron_Fry_Pan_Black", None), ("Nordic_Ware_Original_Bundt_Pan", None),
    ("OXO_Soft_Works_Can_Opener_SnapLock", None), ("Progressive_Rubber_Spatulas_3_count", None),
    ("Black_Decker_Stainless_Steel_Toaster_4_Slice", None), ("Cole_Hardware_Hammer_Black", None),
    ("Craftsman_Grip_Screwdriver_Phillips_Cushion", None), ("Pony_C_Clamp_1440", None),
    ("Target_Basket_Medium", "Consumer Goods"), ("Curver_Storage_Bin_Black_Small", None),
    ("Closetmaid_Premium_Fabric_Cube_Red", None), ("Poppin_File_Sorter_Blue", "Consumer Goods"),
    ("Markings_Letter_Holder", None), ("Tag_Dishtowel_Green", None), ("Threshold_Hand_Towel_Blue_Medallion_16_x_27", None),
    ("Crayola_Crayons_24_count", "Consumer Goods"), ("Canon_Pixma_Ink_Cartridge_8_Red", "Consumer Goods"),
    ("Epson_273XL_Ink_Cartridge_Magenta", "Consumer Goods"), ("Diet_Pepsi_Soda_Cola12_Pack_12_oz_Cans", "Consumer Goods"),
    ("Brisk_Iced_Tea_Lemon_12_12_fl_oz_355_ml_cans_144_fl_oz_426_lt", "Consumer Goods"),
    ("Nestle_Nesquik_Chocolate_Powder_Flavored_Milk_Additive_109_Oz_Canister", "Consumer Goods"),
    ("Little_Debbie_Chocolate_Cupcakes_8_ct", "Consumer Goods"), ("U_By_Kotex_Sleek_Regular_Unscented_Tampons_36_Ct_Box", "Consumer Goods"),
    ("Perricone_MD_Face_Finishing_Moisturizer", "Consumer Goods"), ("Perricone_MD_No_Lipstick_Lipstick", "Consumer Goods"),
    ("Marc_Anthony_True_Professional_Oil_of_Morocco_Argan_Oil_Treatment", "Consumer Goods"),
    ("Just_For_Men_ShampooIn_Haircolor_Jet_Black_60", "Consumer Goods"), ("Lutein", "Bottles and Cans and Cups"),
    ("CoQ10", "Bottles and Cans and Cups"), ("Twinlab_100_Whey_Protein_Fuel_Chocolate", "Bottles and Cans and Cups"),
    ("Jarrow_Glucosamine_Chondroitin_Combination_120_Caps", "Bottles and Cans and Cups"),
    ("Phillips_Milk_of_Magnesia_Saline_Laxative_Liquid_Original", "Consumer Goods"),
    ("Black_Elderberry_Syrup_54_oz_Gaia_Herbs", "Consumer Goods"), ("Krill_Oil", "Consumer Goods"),
    ("Seagate_1TB_Backup_Plus_portable_drive_Blue", None), ("Netgear_N750_Wireless_Dual_Band_Gigabit_Router", "Consumer Goods"),
    ("JBL_Charge_Speaker_portable_wireless_wired_Green", "Consumer Goods"), ("Crosley_Alarm_Clock_Vintage_Metal", "Consumer Goods"),
    ("HeavyDuty_Flashlight", None), ("Cole_Hardware_School_Bell_Solid_Brass_38", "Consumer Goods"),
    ("Spritz_Easter_Basket_Plastic_Teal", None), ("Sonny_School_Bus", None), ("Great_Dinos_Triceratops_Toy", None),
    ("Android_Figure_Orange", "Consumer Goods"), ("Cootie_Game", "Consumer Goods"), ("Paint_Maker", "Consumer Goods"),
    ("Sleep_Optimizer", "Consumer Goods"), ("Fruity_Friends", "Consumer Goods"), ("Object", None),
]
COLORS = [(200, 30, 30), (0, 128, 128), (150, 210, 40), (240, 200, 30), (25, 25, 25), (235, 235, 232), (30, 60, 170),
          (236, 110, 160), (120, 80, 40), (225, 205, 170)]


def shape(category: str | None, name: str, rng: np.random.Generator) -> trimesh.Trimesh:
    """A shape that fits the product, in meters, Z up, bottom at z=0."""
    n = name.lower()
    if any(w in n for w in ("mug", "cup", "pot", "planter", "holder", "canister", "basket", "bin")):
        r, h = rng.uniform(0.04, 0.06), rng.uniform(0.08, 0.12)
        m = trimesh.creation.revolve(np.array([[0.8 * r, 0], [r, 0.25 * h], [r, h], [r - 0.004, h], [r - 0.004, 0.008],
                                               [0, 0.008], [0, 0]]), sections=64)
    elif any(w in n for w in ("bowl", "plate", "ramekin", "dish", "rest")):
        r = rng.uniform(0.06, 0.13)
        m = trimesh.creation.revolve(np.array([[0.5 * r, 0], [r, 0.35 * r], [r - 0.004, 0.35 * r], [0, 0.01], [0, 0]]),
                                     sections=64)
    elif category == "Shoe":
        m = trimesh.util.concatenate([trimesh.creation.box(extents=(0.28, 0.1, 0.03)),
                                      trimesh.creation.box(extents=(0.18, 0.09, 0.08),
                                                           transform=trimesh.transformations.translation_matrix((-0.04, 0, 0.05)))])
    elif category in ("Bottles and Cans and Cups",) or any(w in n for w in ("serum", "oil", "syrup", "bottle", "lotion")):
        r, h = rng.uniform(0.02, 0.04), rng.uniform(0.1, 0.22)
        m = trimesh.creation.revolve(np.array([[0, 0], [r, 0], [r, 0.7 * h], [0.45 * r, 0.85 * h], [0.45 * r, h], [0, h]]),
                                     sections=48)
    elif category in ("Toys", "Stuffed Toys", "Action Figures") or category is None and rng.random() < 0.3:
        parts = []
        for k, r in enumerate(rng.uniform(0.015, 0.04, 3)):
            s = trimesh.creation.icosphere(3, radius=float(r))
            s.apply_translation((0, 0, 0.03 + 0.04 * k))
            parts.append(s)
        m = trimesh.util.concatenate(parts)
    else:
        m = trimesh.creation.box(extents=rng.uniform([0.06, 0.03, 0.06], [0.3, 0.2, 0.3]))
    m.apply_translation((-m.bounds[:, 0].mean(), -m.bounds[:, 1].mean(), -m.bounds[0, 2]))
    while len(m.faces) < 20_000:  # scans have many small faces: subdivide to realistic size
        m = m.subdivide()
    if len(m.faces) > 26_000:
        idx = rng.choice(len(m.faces), 20_000, replace=False)
        m = trimesh.Trimesh(m.vertices, m.faces[np.sort(idx)], process=False)
        m.remove_unreferenced_vertices()
    m.vertices += rng.normal(0, 0.0002, m.vertices.shape)  # scan noise
    return m


def texture(rgb: tuple[int, int, int], rng: np.random.Generator, size: int = 1024) -> Image.Image:
    lin = (np.asarray(rgb, float) / 255.0) ** 2.2
    light = np.linspace(1.0, 0.45, size)[:, None, None] * np.ones((1, size, 1))
    img = 0.85 * lin * light + 0.15 * (lin * light).mean(axis=2, keepdims=True)
    img *= rng.normal(1.0, 0.04, (size, size, 1))
    return Image.fromarray((np.clip(img, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8), "RGB")


def write_model(root: Path, name: str, category: str | None, rng: np.random.Generator) -> int:
    d = root / name
    (d / "meshes").mkdir(parents=True)
    (d / "materials" / "textures").mkdir(parents=True)
    m = shape(category, name, rng)
    m.visual = trimesh.visual.TextureVisuals(uv=rng.random((len(m.vertices), 2)))
    obj = trimesh.exchange.obj.export_obj(m, include_texture=False, include_normals=True)
    (d / "meshes" / "model.obj").write_text("# Generated by Katamari OBJ encoder\nmtllib model.mtl\nusemtl material_0\n" + obj)
    (d / "meshes" / "model.mtl").write_text("newmtl material_0\nKd 1 1 1\nmap_Kd texture.png\n")
    texture(COLORS[rng.integers(len(COLORS))], rng).save(d / "materials" / "textures" / "texture.png")
    title = name.replace("_", " ")
    (d / "model.config").write_text(f"<!-- licence -->\n<model>\n  <name>{name}</name>\n"
                                    f"  <description>{title}\nA product.</description>\n</model>\n")
    cat = f'categories {{\n  first: "{category}"\n}}\n' if category else ""
    (d / "metadata.pbtxt").write_text(f'name: "{name}"\ndescription: "{title}\\nA product."\nauthors {{\n  name: "Google"\n}}\n{cat}')
    return len(m.faces)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=200)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per CPU)")
    p.add_argument("--no-collision", action="store_true")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "GSO"
        faces = []
        t0 = time.perf_counter()
        for k in range(args.models):
            name, category = TITLES[k % len(TITLES)]
            if k >= len(TITLES):  # a second scan of a product, as GSO names them
                name = f"{name}_{''.join(rng.choice(list('abcdefghijkLMNOPQRS0123456789'), 11))}"
            faces.append(write_model(root, name, category, rng))
        print(f"generated {args.models} GSO folders ({np.mean(faces):,.0f} faces on average, 1024 px textures) "
              f"in {time.perf_counter() - t0:.0f} s")
        out = Path(tmp) / "cat" / "gso.yaml"
        t0 = time.perf_counter()
        result = run_import(root, out, collision=not args.no_collision, jobs=args.jobs)
        seconds = time.perf_counter() - t0
        import yaml

        entries = yaml.safe_load(out.read_text())["assets"]
        named = sum("no known noun" not in str(e["evidence"]["name_from"]) for e in entries)
        unique_titles = {e["origin"] for e in entries}
        print(f"imported {len(result.imported)} models in {seconds:.0f} s with {args.jobs or 'all'} worker(s): "
              f"{len(result.imported) / seconds * 60:.1f} models/min ({seconds / max(len(result.imported), 1):.2f} s/model); "
              f"skipped {len(result.skipped)}")
        print(f"names: {named} of {len(entries)} from a lexicon noun or the GSO category "
              f"({len(TITLES)} distinct real GSO titles), {len(result.notes)} numbered, {len(unique_titles)} entries")


if __name__ == "__main__":
    main()
