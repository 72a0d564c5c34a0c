"""Offline gazetteer, place finding in messages, geopy geocoder interface and the online fallback."""

from __future__ import annotations

import time

import pytest
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from hypothesis import given, settings
from hypothesis import strategies as st

from core.places import Gazetteer, OfflineGeocoder, Place, department_of, distance_km, make_geocoder


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    start = time.perf_counter()
    g = Gazetteer.default()
    print(f"\ngazetteer load: {(time.perf_counter() - start) * 1000:.0f} ms, {len(g)} communes")
    return g


def test_every_commune_is_there(gaz):
    assert 34_000 < len(gaz) < 36_000
    assert gaz.by_insee("37261").name == "Tours"
    assert gaz.by_insee("2A004").name == "Ajaccio"


@pytest.mark.parametrize(
    ("query", "name", "department"),
    [
        ("Tours", "Tours", "37"),
        ("st etienne", "Saint-Étienne", "42"),
        ("ST-ETIENNE", "Saint-Étienne", "42"),
        ("clermont fd", "Clermont-Ferrand", "63"),
        ("aix en pce", "Aix-en-Provence", "13"),
        ("Chalon", "Chalon-sur-Saône", "71"),
        ("chalon s/ saone", "Chalon-sur-Saône", "71"),
        ("Joue les tours", "Joué-lès-Tours", "37"),
        ("joué-lès-tours", "Joué-lès-Tours", "37"),
        ("Le Mans", "Le Mans", "72"),
        ("lhay les roses", "L'Haÿ-les-Roses", "94"),
        ("Brive", "Brive-la-Gaillarde", "19"),
        ("Ste Maxime", "Sainte-Maxime", "83"),
        ("Bordeau", "Bordeaux", "33"),  # typo
        ("Montpelier", "Montpellier", "34"),  # typo
        ("Strasbourgg", "Strasbourg", "67"),
        ("Cherbourg-Octeville", "Cherbourg-en-Cotentin", "50"),  # former commune -> today's commune
        ("Fort de France", "Fort-de-France", "972"),
        ("Ajaccio", "Ajaccio", "2A"),
    ],
)
def test_tolerant_lookup(gaz, query, name, department):
    place = gaz.lookup(query)
    assert place is not None, query
    assert (place.name, place.department) == (name, department)


@pytest.mark.parametrize(
    ("code", "name", "postcode"),
    [
        ("37000", "Tours", "37000"),
        ("21000", "Dijon", "21000"),
        ("69003", "Lyon", "69003"),
        ("75011", "Paris", "75011"),
        ("13008", "Marseille", "13008"),
        ("97400", "Saint-Denis", "97400"),
    ],
)
def test_postcodes(gaz, code, name, postcode):
    place = gaz.by_postcode(code)
    assert place is not None and place.name == name and place.postcode == postcode
    assert gaz.lookup(code) == place


def test_arrondissements_resolve_to_their_city_with_their_own_position(gaz):
    paris = gaz.lookup("Paris")
    eleventh = gaz.by_postcode("75011")
    assert eleventh.insee == paris.insee == "75056"
    assert 1.0 < distance_km(paris.coords, eleventh.coords) < 6.0
    assert gaz.lookup("Lyon 3e").postcode == "69003"
    assert gaz.lookup("Marseille 8ème arrondissement").postcode == "13008"


def test_homonyms_ranked_by_population_and_narrowed_by_department(gaz):
    assert gaz.lookup("Saint-Denis").department == "974"  # the largest Saint-Denis
    assert gaz.lookup("Saint-Denis (93)").department == "93"
    assert gaz.lookup("Saint-Denis 93200").department == "93"
    assert gaz.lookup("Valence").department == "26"
    assert gaz.lookup("Valence 82400").department == "82"


def test_lookup_of_nothing(gaz):
    assert gaz.lookup("") is None
    assert gaz.lookup("   ") is None
    assert gaz.lookup("xqzwkv") is None
    assert gaz.by_postcode("00000") is None


@pytest.mark.parametrize(
    ("text", "name", "department"),
    [
        ("j'ai 2 Prusa à Joué-lès-Tours, dispo le soir", "Joué-lès-Tours", "37"),
        ("L'EHPAD de Villeurbanne cherche des surblouses", "Villeurbanne", "69"),
        ("dispo pr imprimer, ender 3, 21000", "Dijon", "21"),
        ("Besoin urgent CHU Clermont-Fd, réa", "Clermont-Ferrand", "63"),
        ("can print ear savers, near Lyon", "Lyon", "69"),
        ("on peut livrer au Mans dès lundi", "Le Mans", "72"),
        ("3 imprimantes sur Bdx, dispo", "Bordeaux", "33"),
        ("couturière à lons le saunier, 20 masques/jour", "Lons-le-Saunier", "39"),
        ("Hôpital de Vienne (38) : 40 visières svp", "Vienne", "38"),
        ("Je suis à Sens avec une laser", "Sens", "89"),
        ("Dental office in Nice, need 12 shields", "Nice", "06"),
        ("Centre de santé de Saint-Denis, dans le 93, besoin de blouses", "Saint-Denis", "93"),
        ("Saint-Denis, île de la Réunion : besoin de visières", "Saint-Denis", "974"),
        ("Pharmacie Martin, 87000. Besoin de gel", "Limoges", "87"),
        ("Relais demande : maison de retraite de St Dié, 30 attache-masques", "Saint-Dié-des-Vosges", "88"),
        ("machine à coudre dispo (Montauban)", "Montauban", "82"),
        ("Ma tante est aide-soignante à l'hopital de sarlat", "Sarlat-la-Canéda", "24"),
        ("Je suis à Montpelier, 2 imprimantes", "Montpellier", "34"),  # typo after "à"
        ("Team of 4 makers in Chamonix ready to help", "Chamonix-Mont-Blanc", "74"),
        ("Imprimante dispo à Marseille 13005", "Marseille", "13"),
        ("ehpad a thonon, on a besoin de 20 visieres", "Thonon-les-Bains", "74"),
        ("Je suis à Albert, 2 imprimantes", "Albert", "80"),
        ("Les couturières de La Rochelle proposent 200 masques", "La Rochelle", "17"),
    ],
)
def test_find_in_text(gaz, text, name, department):
    place = gaz.find_in_text(text)
    assert place is not None, text
    assert (place.name, place.department) == (name, department)


def test_find_in_text_prefers_the_postcode_given_with_a_name(gaz):
    place = gaz.find_in_text("Cabinet infirmier à Valence (82400), 10 surblouses")
    assert place.department == "82" and place.postcode == "82400"


def test_find_in_text_paris_arrondissement(gaz):
    place = gaz.find_in_text("2 imprimantes résine, Paris 18e, dispo")
    assert place.name == "Paris" and place.postcode == "75018"


ORDINARY = [
    "Merci à tous pour votre aide, bonne soirée",
    "Bonjour à tous, je peux aider ce weekend",
    "Il n'y a plus de PLA, pas de souci pour le PETG",
    "Sept imprimantes tournent en ce moment",
    "Avant vendredi si possible",
    "Y a-t-il encore besoin de visières ?",
    "Plus besoin, merci",
    "I have a nice printer and some orange filament",
    "Tours de cou en tissu disponibles",
    "La ville nous a demandé des masques",
    "Le port du masque est obligatoire",
    "Rendez-vous à la gare à 10h",
    "On a besoin de 10000 masques",
    "Capacité 20000 visières par semaine",
    "Contact : Dr Moreau au 04 73 12 34 56",
    "Livraison le 15 avril",
    "Sens de rotation du moteur inversé",
    "Gap between the visor and the band is too large",
    "à demain !",
    "Nous sommes à court de filament",
    "Charlotte valve printed in resin",
    "Bravo Romain pour le boulot",
    "Un grand merci à Florence et Vincent",
    "On a reçu le colis de La Poste",
    "Le fichier est dans #fichiers, merci @Lucie",
    "validé par l'ARS, voir https://example.org/tours/nice",
    "Je suis dans le 13, dispo ce weekend",
    "EHPAD du Finistère nord, besoin de visières",
    "Anywhere in Haute-Savoie, ping me",
    "Je peux livrer dans le Cher et l'Indre",
    "imprimante libre ce soir, qui a besoin ?",
    "mes visières gondolent au niveau du bandeau",
    "Les bénévoles de la Croix-Rouge sont passés",
    "Envoyez un MP à Mathieu pour les détails",
    "Merci à Albert pour les 30 visières",
    "on hésite entre deux modèles de visières",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_no_false_positive(gaz, text):
    assert gaz.find_in_text(text) is None


def test_geopy_interface_offline():
    geocoder = OfflineGeocoder()
    assert isinstance(geocoder, Geocoder)
    location = geocoder.geocode("clermont fd")
    assert isinstance(location, Location)
    assert location.raw["department"] == "63"
    assert location.raw["insee"] == "63113"
    assert location.raw["postcode"] == "63000"
    assert abs(location.latitude - 45.78) < 0.05
    assert geocoder.geocode("xqzwkv") is None
    many = geocoder.geocode("Tours", exactly_one=False)
    assert isinstance(many, list) and many[0].raw["name"] == "Tours"
    near = geocoder.reverse((47.39, 0.69))
    assert near.raw["name"] == "Tours"


class FakeOnline:
    """Stands in for Nominatim: counts calls, knows one address."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def geocode(self, query, exactly_one=True, **kwargs):
        self.calls.append(query)
        if "technopole" in query.lower():
            return Location("Sophia Antipolis, Valbonne, France", (43.6163, 7.0552), {})
        return None


def test_online_fallback_is_cached():
    fake = FakeOnline()
    cache: dict[str, tuple] = {}
    geocode = make_geocoder(
        online=True, user_agent="relais-test", cache=cache, online_geocoder=fake, min_delay_seconds=0
    )
    # Offline first: the fake is not asked about a commune.
    assert geocode("Tours").raw["insee"] == "37261"
    assert fake.calls == []
    found = geocode("Technopole Sophia Antipolis")
    assert found is not None and abs(found.latitude - 43.6163) < 1e-6
    assert found.raw["department"] == "06" and found.raw["source"] == "online"
    again = geocode("technopole sophia-antipolis")
    assert again is not None and again.longitude == found.longitude and again.raw["source"] == "cache"
    assert len(fake.calls) == 1
    assert geocode("Nowhere-in-particular xyzzy") is None
    assert geocode("nowhere in particular xyzzy") is None
    assert len(fake.calls) == 2
    assert len(cache) == 2 and () in cache.values()


def test_offline_geocoder_never_goes_online():
    geocode = make_geocoder(online=False, user_agent="relais-test")
    assert geocode.online is None
    assert geocode("Technopole Sophia Antipolis") is None
    assert geocode("Riom").raw["department"] == "63"


def test_distance_km():
    paris, lyon = (48.8566, 2.3522), (45.7640, 4.8357)
    assert distance_km(paris, lyon) == pytest.approx(392, abs=3)
    assert distance_km(paris, paris) == 0
    place = Place("Lyon", 45.7640, 4.8357, "69")
    assert distance_km(paris, place) == pytest.approx(392, abs=3)


def test_department_of(gaz):
    assert department_of(gaz.lookup("Tours")) == "37"
    assert department_of("37000") == "37"
    assert department_of("20000") == "2A"
    assert department_of("97400") == "974"
    assert department_of("2b") == "2B"
    assert department_of("Clermont-Ferrand") == "63"
    assert department_of("") is None
    assert department_of(None) is None


def test_find_in_text_caps_its_work(gaz):
    text = ("des visières et du PETG, merci à tous " * 3000) + " à Tours"
    assert len(text) > 100_000
    assert gaz.find_in_text(text) is None  # the place lies beyond the part that is read
    assert gaz.find_in_text("à Tours " + text).name == "Tours"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text):
    gaz = Gazetteer.default()
    found = gaz.find_in_text(text)
    assert found is None or isinstance(found, Place)
    looked = gaz.lookup(text)
    assert looked is None or isinstance(looked, Place)


def test_small_gazetteer_from_rows_recomputes_keys():
    """A gazetteer can be built from a few rows (without the cached key column), e.g. for other tests."""
    rows = [
        ["C", "Tours", "37261", "", "37", "47.39122", "0.68922", "135787", "37000,37100,37200"],
        ["C", "Joué-lès-Tours", "37122", "", "37", "47.34412", "0.66091", "37893", "37300"],
        ["C", "Saint-Pierre-des-Corps", "37233", "", "37", "47.38618", "0.72351", "15838", "37700"],
    ]
    small = Gazetteer(rows, [["Indre-et-Loire", "37", "dep"]], {"tours": 4.6})
    assert len(small) == 3
    assert small.lookup("joue les tours").insee == "37122"
    assert small.lookup("St Pierre des Corps").postcode == "37700"
    assert small.by_postcode("37100").name == "Tours"
    assert small.find_in_text("dispo à Tours").name == "Tours"
    assert small.find_in_text("deux tours de cou") is None
    assert small.nearest(47.35, 0.66).name == "Joué-lès-Tours"


def test_every_metropolitan_commune_lies_near_its_departement():
    """Guards the shipped data against source errors (a longitude with the wrong sign, a latitude twice)."""
    import csv
    import gzip
    import statistics
    from collections import defaultdict
    from pathlib import Path

    import core.places

    path = Path(core.places.__file__).parent / "data" / "communes.tsv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    by_dep = defaultdict(list)
    for row in rows:
        by_dep[row["dep"]].append((float(row["lat"]), float(row["lon"]), row["name"]))
    far = []
    for dep, points in by_dep.items():
        if dep.startswith("97"):
            continue
        centre = (statistics.median(p[0] for p in points), statistics.median(p[1] for p in points))
        far += [(dep, name) for lat, lon, name in points if distance_km((lat, lon), centre) > 150]
    assert len(rows) > 34_000
    assert far == []


# ---------------------------------------------------------------- an area or code right after a commune

@pytest.mark.parametrize(
    "text, name, department",
    [
        # the region in brackets picks the homonym and is not itself the commune "La Réunion" (Lot-et-Garonne)
        ("Fablab de Saint-Denis (La Réunion) : 40 visières dispo", "Saint-Denis", "974"),
        ("Fablab de Saint-Denis, La Réunion, on imprime des visières", "Saint-Denis", "974"),
        ("Fablab de Saint-Denis (93) : 40 visières dispo", "Saint-Denis", "93"),
        ("Saint-Denis (Seine-Saint-Denis), 3 imprimantes", "Saint-Denis", "93"),
        ("Besoin de visières à Saint-Pierre (974)", "Saint-Pierre", "974"),
        ("Saint-Pierre, La Réunion : 30 masques pour l'EHPAD", "Saint-Pierre", "974"),
        ("On a besoin de blouses à Valence (26)", "Valence", "26"),
        ("On a besoin de blouses à Valence (82)", "Valence", "82"),
        ("Valence, Drôme : il nous faut 20 surblouses", "Valence", "26"),
        ("EHPAD de Saint-Cyr (Var), 50 masques", "Saint-Cyr-sur-Mer", "83"),
        ("We are a makerspace in Rochefort (17), 2 printers", "Rochefort", "17"),
        ("Nurses in Sainte-Marie (Martinique) need face shields", "Sainte-Marie", "972"),
        ("Bagnols (Gard) : besoin de 20 masques en tissu", "Bagnols-sur-Cèze", "30"),
        ("Bagnols, Gard, we need 20 cloth masks", "Bagnols-sur-Cèze", "30"),
        ("EHPAD de Vienne (Isère), 10 visières", "Vienne", "38"),
    ],
)
def test_an_area_after_a_commune_picks_the_homonym(gaz, text, name, department):
    place = gaz.find_in_text(text)
    assert place is not None, text
    assert (place.name, place.department) == (name, department)


@pytest.mark.parametrize(
    "text, name, department",
    [
        # a list of towns: the second one is no area of the first
        ("On peut livrer à Valence, Vienne et Lyon", "Valence", "26"),
        ("Je suis à Lyon, Paris c'est trop loin", "Lyon", "69"),
    ],
)
def test_a_list_of_towns_is_no_qualifier(gaz, text, name, department):
    place = gaz.find_in_text(text)
    assert place is not None, text
    assert (place.name, place.department) == (name, department)


@pytest.mark.parametrize(
    "text",
    [
        "Besoin de masques dans les Landes (40)",
        "Besoin de 50 visières dans le 34",
        "We need face shields in the 34",
        "Besoin de masques (Réunion)",
        "Des couturières en Dordogne (24) ?",
    ],
)
def test_a_departement_or_region_alone_is_no_commune(gaz, text):
    assert gaz.find_in_text(text) is None


@pytest.mark.parametrize(
    "text, name, postcode",
    [
        ("Besoin de 50 visières dans le 34200", "Sète", "34200"),
        ("We need face shields in 34200", "Sète", "34200"),
        ("On imprime au 34200, 10 visières par jour", "Sète", "34200"),
        ("CP 17000, 20 visières pour le cabinet", "La Rochelle", "17000"),
        ("17000 La Rochelle : besoin de masques", "La Rochelle", "17000"),
        ("La Rochelle 17000, besoin de masques", "La Rochelle", "17000"),
        ("Zip 26000, we need gowns", "Valence", "26000"),
    ],
)
def test_a_postcode_alone_or_with_its_commune(gaz, text, name, postcode):
    place = gaz.find_in_text(text)
    assert place is not None, text
    assert (place.name, place.postcode) == (name, postcode)


@pytest.mark.parametrize(
    "query, name, department",
    [
        ("Saint-Cyr (Var)", "Saint-Cyr-sur-Mer", "83"),
        ("Saint-Denis (La Réunion)", "Saint-Denis", "974"),
        ("Saint-Denis (Seine-Saint-Denis)", "Saint-Denis", "93"),
        ("Sainte-Marie (Martinique)", "Sainte-Marie", "972"),
        ("Bagnols (Gard)", "Bagnols-sur-Cèze", "30"),
        ("Valence (82)", "Valence", "82"),
        ("Saint-Pierre, La Réunion", "Saint-Pierre", "974"),
    ],
)
def test_lookup_with_an_area_in_brackets(gaz, query, name, department):
    place = gaz.lookup(query)
    assert place is not None, query
    assert (place.name, place.department) == (name, department)
