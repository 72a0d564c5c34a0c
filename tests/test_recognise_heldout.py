"""Messages written for the recogniser's generalisation check (not from the dev corpus), with labels.

Each case: text, expected intent, items {id: quantity}, capabilities, deadline (ISO) and topic, following the
conventions of the shared corpus README. All are sent on Wednesday 2020-04-15 10:00 Europe/Paris.
"""

SENT_AT = "2020-04-15T10:00:00+02:00"

# (text, intent, items, capabilities, deadline, topic)
CASES = [
    # needs
    ("Bonjour, nous sommes l'EHPAD Les Mimosas à Périgueux, il nous faudrait 40 surblouses d'ici vendredi. Merci beaucoup",
     "need", {"gown": 40}, [], "2020-04-17", None),
    ("besoin de visieres svp pour notre cabinet de kiné a Arras, une quinzaine", "need", {"face_shield": 15}, [], None, None),
    ("Hello, care home in Nantes here, we're running low on face shields. Could anyone print 30 for us by Friday?",
     "need", {"face_shield": 30}, [], "2020-04-17", None),
    ("Urgent : le service de réa du CH de Laval cherche 8 caissons d'intubation pour demain matin",
     "need", {"intubation_box": 8}, [], "2020-04-16", None),
    ("Ma tante travaille dans une clinique à Montélimar, ils manquent de blouses. Il leur en faudrait une cinquantaine "
     "avant lundi prochain, quelqu'un peut aider ?", "need", {"gown": 50}, [], "2020-04-20", None),
    ("Pharmacie de la Gare, Agen : on aurait besoin de 200 attache-masques + 50 visières. Pas urgent.",
     "need", {"ear_saver": 200, "face_shield": 50}, [], None, None),
    ("We need 3 replacement parts for a syringe pump (the plunger clip broke), within 72h if possible. Hospital of Tarbes.",
     "need", {"spare_part": 3}, [], "2020-04-18", None),
    ("Quelqu'un pourrait nous faire 60 ouvre-portes pour la mairie de Blois ? merci", "need", {"door_opener": 60}, [], None, None),
    ("bjr, infirmiere liberale vers Chartres, je cherche 2 visieres et qq surblouses", "need",
     {"face_shield": 2, "gown": None}, [], None, None),
    ("L'hôpital de Niort a besoin de masques en tissu pour les familles des patients, environ 300, pour le 30/04",
     "need", {"fabric_mask": 300}, [], "2020-04-30", None),
    ("Our lab in Orléans needs nasal swabs, 1 000 would be great, by next Monday", "need", {"nasal_swab": 1000}, [],
     "2020-04-20", None),
    ("Relais : l'EHPAD de Cluny (71) recherche du gel hydroalcoolique, 40 flacons, sous 24h", "need",
     {"hand_sanitizer": 40}, [], "2020-04-16", None),
    ("besoin urgent de 12 valves charlotte au CHU de Poitiers, demande écrite du chef de service dispo", "need",
     {"valve_adapter": 12}, [], None, None),
    ("Nursing home in Calais: we'd need ear savers for 80 staff, so 80 please, and some gowns.", "need",
     {"ear_saver": 80, "gown": None}, [], None, None),
    ("Centre de santé de Lens : plus de visières du tout, il en faudrait 25 d'ici la fin de la semaine", "need",
     {"face_shield": 25}, [], "2020-04-17", None),
    ("Mairie de Vannes — recherche 2 000 masques barrière pour distribution aux aînés le 2 mai", "need",
     {"fabric_mask": 2000}, [], "2020-05-02", None),
    ("Hi, I'm a GP in Rennes. Could someone make me 5 face shields? Thanks a lot", "need", {"face_shield": 5}, [], None, None),
    ("SSIAD du Morvan : nous manquons de surblouses (20) et d'attaches masques (40)", "need",
     {"gown": 20, "ear_saver": 40}, [], None, None),
    ("Besoin de 4 pièces détachées pour respirateur Monnal, plan dispo, CHU de Caen, au plus vite", "need",
     {"spare_part": 4}, [], None, None),
    ("Dentist in Toulon: 10 face shields and 200 ear savers needed before May 4th", "need",
     {"face_shield": 10, "ear_saver": 200}, [], "2020-05-04", None),
    ("Est-ce que quelqu'un aurait des visières en stock ? Le foyer d'accueil de Pau en voudrait 20.", "need",
     {"face_shield": 20}, [], None, None),
    ("Anyone able to sew 50 cloth masks for a women's shelter in Lille? They'd need them by Thursday.", "need",
     {"fabric_mask": 50}, [], "2020-04-16", None),
    # offers
    ("J'ai une Prusa MK3S et une Ender 5, je peux sortir 30 visières/jour. Je suis à Vierzon, je peux livrer dans le 18.",
     "offer", {"face_shield": 30}, ["3d_printing", "transport"], None, None),
    ("Dispo pour coudre des masques tissu, 10 par jour environ, sur Poitiers", "offer", {"fabric_mask": 10}, ["sewing"], None, None),
    ("We have a 150W laser cutter at our fablab in Grenoble, happy to cut face shield visors, about 500 a day.", "offer",
     {"face_shield": 500}, ["laser_cutting"], None, None),
    ("je donne 5 rouleaux d'élastique et des feuilles transparentes, à récupérer sur Niort", "offer", {}, ["materials"], None, None),
    ("Atelier d'usinage à Annecy, on peut faire des pièces pour pousse-seringues en alu, délai 3 jours", "offer",
     {"spare_part": None}, ["cnc"], None, None),
    ("I've got 40 door openers printed and ready, anyone want them? Based in Toulouse", "offer", {"door_opener": 40}, [], None, None),
    ("Couturière retraitée à Lorient, je peux faire des surblouses si on me fournit le tissu", "offer", {"gown": None},
     ["sewing"], None, None),
    ("vous avez besoin de visières ? j'en ai 30 à donner, Chalon-sur-Saône", "offer", {"face_shield": 30}, [], None, None),
    ("On a 3 imprimantes résine au labo, on peut faire des écouvillons si un hôpital valide le modèle. Strasbourg", "offer",
     {"nasal_swab": None}, ["3d_printing"], None, None),
    ("Transport dispo : j'ai un utilitaire et je peux faire Lyon-Grenoble tous les jours", "offer", {}, ["transport"], None, None),
    ("Small electronics workshop in Toulouse, we can repair ventilator boards and solder connectors", "offer", {},
     ["electronics"], None, None),
    ("Entreprise de plasturgie, on peut injecter 2000 attache-masques par jour, Oyonnax", "offer", {"ear_saver": 2000},
     ["injection_molding"], None, None),
    ("Je propose 100 ouvre-portes imprimés en PETG, gratuits pour les EHPAD du Gard", "offer", {"door_opener": 100}, [], None, None),
    ("Hi! Seamstress here in Dijon, I can sew around 20 gowns a week.", "offer", {"gown": 20}, ["sewing"], None, None),
    ("Stock de 250 visières dispo sur Metz, qui en veut ?", "offer", {"face_shield": 250}, [], None, None),
    ("fablab de Rodez : 5 imprimantes 3D + 1 CNC, on peut produire des ouvre-portes et des attache-masques à la demande",
     "offer", {"door_opener": None, "ear_saver": None}, ["3d_printing", "cnc"], None, None),
    ("Can deliver anywhere around Lille with my van, evenings and weekends", "offer", {}, ["transport"], None, None),
    ("Don de 20 kg de PLA et 10 bobines de PETG pour les makers, à Rouen", "offer", {}, ["materials"], None, None),
    # questions
    ("Les surblouses en polypropylène peuvent-elles passer à l'autoclave ?", "question", {}, [], None, "sanitary"),
    ("Quelle épaisseur de feuille PET pour le modèle de visière du CHU ?", "question", {}, [], None, "technical"),
    ("Est-on couverts par l'assurance si un soignant se blesse avec une de nos visières ?", "question", {}, [], None, "legal"),
    ("Who covers shipping costs when we send face shields to overseas territories?", "question", {}, [], None, "logistics"),
    ("Is it legal to sell the ear savers at cost price to pharmacies?", "question", {}, [], None, "legal"),
    ("Comment nettoyer les ouvre-portes entre deux utilisations ? Alcool à 70° ça va ?", "question", {}, [], None, "sanitary"),
    ("What infill and layer height do you use for the door openers?", "question", {}, [], None, "technical"),
    ("Où est-ce qu'on dépose les visières terminées à Nantes ? Il y a un point de collecte ?", "question", {}, [], None, "logistics"),
    ("Do the nurses need a prescription to use the Charlotte valve, or is hospital approval enough?", "question", {}, [], None,
     "sanitary"),
    ("Faut-il une attestation spéciale pour livrer des masques le soir après le couvre-feu ?", "question", {}, [], None, "legal"),
    ("Quelqu'un a le lien vers le STL de la visière version 3 ?", "question", {}, [], None, "technical"),
    ("Qui rembourse le filament ? J'en suis à 6 bobines", "question", {}, [], None, "logistics"),
    ("Les masques en tissu doivent-ils être lavés à 60 degrés pour être efficaces ?", "question", {}, [], None, "sanitary"),
    ("Where can we pick up the elastic bands that were donated?", "question", {}, [], None, "logistics"),
    ("On a le droit de mettre notre logo sur les masques qu'on donne ?", "question", {}, [], None, "legal"),
    # other
    ("Merci infiniment pour les 40 surblouses, l'équipe est ravie !", "other", {}, [], None, None),
    ("Livré 25 visières à la clinique ce midi 👍", "other", {}, [], None, None),
    ("Annulez ma demande de visières svp, on a été livrés par la région", "other", {}, [], None, None),
    ("My printer died this morning, the mainboard is fried. Out of the game for now.", "other", {}, [], None, None),
    ("Je n'ai plus de filament, je mets la production en pause", "other", {}, [], None, None),
    ("Super article dans Ouest-France sur le fablab de Lannion !", "other", {}, [], None, None),
    ("Bonne soirée à tous, on lâche rien 💪", "other", {}, [], None, None),
    ("> besoin de 50 visières à Tours\nC'est déjà réglé, ils ont été livrés hier", "other", {}, [], None, None),
    ("We no longer need the gowns, the regional stock arrived. Thank you all!", "other", {}, [], None, None),
    ("Voici le nouveau modèle d'attache-masque, plus confortable : lien dans #fichiers", "other", {}, [], None, None),
    ("haha ma fille a décoré toutes les visières avec des licornes 🦄", "other", {}, [], None, None),
    ("Nos besoins en visières sont couverts, merci aux makers de la Sarthe", "other", {}, [], None, None),
    ("Fin de la collecte ce vendredi, merci à tous les bénévoles !", "other", {}, [], None, None),
    ("Tu peux m'envoyer ton numéro en MP ?", "other", {}, [], None, None),
    ("J'ai fini les 50 visières pour l'EHPAD de Laval, je les dépose demain", "other", {}, [], None, None),
    # negation and contrast
    ("Pas besoin de surblouses pour nous, par contre 30 visières seraient les bienvenues. Centre hospitalier de Dax", "need",
     {"face_shield": 30}, [], None, None),
    ("Je n'ai plus d'imprimante mais je peux coudre des masques en tissu, 15 par jour. Brest", "offer", {"fabric_mask": 15},
     ["sewing"], None, None),
    ("pas d'imprimante 3D ici mais j'ai une découpeuse laser, dispo pour les visières", "offer", {"face_shield": None},
     ["laser_cutting"], None, None),
    ("We don't need face shields anymore but we're short on gowns, 60 would help. Care home in Nancy.", "need", {"gown": 60},
     [], None, None),
    # quantity conventions
    ("Besoin de 20 à 30 visières pour l'EHPAD de Dole, avant samedi", "need", {"face_shield": 20}, [], "2020-04-18", None),
    ("On peut faire entre 100 et 150 attache-masques par semaine à l'atelier de Brive", "offer", {"ear_saver": 100}, [], None, None),
    ("Mairie de Figeac : 300 masques tissu adultes et 100 enfants pour le 11 mai", "need", {"fabric_mask": 400}, [],
     "2020-05-11", None),
    ("Need 2 dozen face shields for our clinic in Reims asap", "need", {"face_shield": 24}, [], None, None),
    ("Il nous faudrait une centaine de visières et une vingtaine de surblouses, c'est pour l'hôpital de Vichy", "need",
     {"face_shield": 100, "gown": 20}, [], None, None),
    ("Hi, we need a ventilator for our small hospital, can makers build one?", "need", {"ventilator": 1}, [], None, None),
    # deadlines
    ("Besoin de 10 visières pour jeudi, cabinet médical de Gap", "need", {"face_shield": 10}, [], "2020-04-16", None),
    ("Need 20 gowns by end of the week, hospice in Lyon", "need", {"gown": 20}, [], "2020-04-17", None),
    ("besoin de 15 attache masques sous 48h, pharmacie de Vienne", "need", {"ear_saver": 15}, [], "2020-04-17", None),
    ("Il nous faut 50 masques en tissu d'ici lundi, école de Tulle", "need", {"fabric_mask": 50}, [], "2020-04-20", None),
    ("need 5 intubation boxes by 20/04 at Lyon Sud hospital", "need", {"intubation_box": 5}, [], "2020-04-20", None),
    ("Nous avons besoin de 100 visières pour le 4 mai, ville de Sète", "need", {"face_shield": 100}, [], "2020-05-04", None),
    ("Besoin de 8 surblouses demain, infirmière à Bayonne", "need", {"gown": 8}, [], "2020-04-16", None),
    ("We need 30 face shields for tomorrow afternoon, clinic in Lens", "need", {"face_shield": 30}, [], "2020-04-16", None),
    ("on a besoin de 12 visières pour ce soir si possible, EHPAD de Millau", "need", {"face_shield": 12}, [], "2020-04-15", None),
    ("Il nous faudrait 40 surblouses d'ici 5 jours, SSIAD d'Albi", "need", {"gown": 40}, [], "2020-04-20", None),
]


def test_held_out_messages_generalise():
    """Messages not in the dev corpus: the recogniser must get most of them right, not just the corpus."""
    from datetime import datetime

    from core.recognise import Lexicon, Recogniser

    rec = Recogniser(Lexicon.default())
    when = datetime.fromisoformat(SENT_AT)
    intent_ok = item_ok = n_items = 0
    for text, intent, items, _caps, deadline, topic in CASES:
        r = rec.recognise(text, sent_at=when)
        intent_ok += r.intent == intent
        if intent in ("need", "offer"):
            n_items += 1
            item_ok += {m.item: m.quantity for m in r.items} == items
    assert intent_ok / len(CASES) >= 0.9
    assert item_ok / n_items >= 0.85
