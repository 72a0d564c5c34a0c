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


# A second batch, written after the first one had been used for fixes; sent on Monday 2020-04-20 16:00.
SENT_AT_2 = "2020-04-20T16:00:00+02:00"
CASES_2 = [
 ("Bonsoir, foyer de vie à Saintes, on cherche 35 visières pour nos éducateurs, pour mercredi si possible", "need", {"face_shield": 35}, [], "2020-04-22", None),
 ("Le cabinet dentaire du Dr Martin à Royan aurait besoin de 6 visières et 50 attache-masques", "need", {"face_shield": 6, "ear_saver": 50}, [], None, None),
 ("Our care home in Vichy is out of gowns. 40 needed by Thursday please!", "need", {"gown": 40}, [], "2020-04-23", None),
 ("Urgent Hôpital de Saint-Lô : il nous manque des valves Charlotte, 10 pièces, demande signée du chef de service", "need", {"valve_adapter": 10}, [], None, None),
 ("salut, ma mere est aide soignante a l'ehpad de Guingamp, ils auraient besoin de surblouses (une trentaine). qqn dans le 22 ?", "need", {"gown": 30}, [], None, None),
 ("Pharmacie Centrale de Dieppe - recherchons 500 attaches masques pour nos clients, merci d'avance", "need", {"ear_saver": 500}, [], None, None),
 ("We're a small rural clinic near Albi. Could anybody make us ten face shields? Thank you.", "need", {"face_shield": 10}, [], None, None),
 ("La mairie de Quimperlé souhaite obtenir 1 200 masques en tissu pour les écoles avant le 11 mai", "need", {"fabric_mask": 1200}, [], "2020-05-11", None),
 ("besoin de 2 boites d'intubation au CH de Lisieux, demain si possible", "need", {"intubation_box": 2}, [], "2020-04-21", None),
 ("Le service de pneumo du CHU d'Angers manque de gel hydroalcoolique : 100 flacons seraient top", "need", {"hand_sanitizer": 100}, [], None, None),
 ("Hi, nursing home in Laval, we still need 20 door openers, whenever you can", "need", {"door_opener": 20}, [], None, None),
 # offers
 ("Je suis à Saumur avec une Ender 3 V2, dispo pour imprimer des attache-masques, 50/jour", "offer", {"ear_saver": 50}, ["3d_printing"], None, None),
 ("Atelier de couture associatif à Cognac : on peut coudre 100 masques par semaine", "offer", {"fabric_mask": 100}, ["sewing"], None, None),
 ("Got a CNC and a laser cutter in my garage in Bayonne, happy to make intubation boxes, 3 a week", "offer", {"intubation_box": 3}, ["cnc", "laser_cutting"], None, None),
 ("Je peux faire des livraisons sur Limoges et alentours avec ma voiture, le week-end", "offer", {}, ["transport"], None, None),
 ("J'ai 80 ouvre-portes en stock, à donner, sur Tours nord", "offer", {"door_opener": 80}, [], None, None),
 ("Donne 2 rouleaux de tissu coton et des élastiques, à venir chercher à Vannes", "offer", {}, ["materials"], None, None),
 ("Électronicien à Rennes, je peux réparer des respirateurs ou des pousse-seringues en panne", "offer", {}, ["electronics"], None, None),
 ("Our company in Lyon can injection-mould 5000 ear savers per day, free for hospitals", "offer", {"ear_saver": 5000}, ["injection_molding"], None, None),
 ("imprimante dispo ce soir, qqn veut des visières ? je suis vers Mâcon", "offer", {"face_shield": None}, ["3d_printing"], None, None),
 ("Couturières bénévoles du Havre : 200 surblouses prêtes, qui en a besoin ?", "offer", {"gown": 200}, ["sewing"], None, None),
 # questions
 ("Les visières peuvent-elles être désinfectées à la lingette alcoolisée sans abîmer le PET ?", "question", {}, [], None, "sanitary"),
 ("Quel diamètre de filament pour la Prusa, 1.75 ou 2.85 ?", "question", {}, [], None, "technical"),
 ("Are we insured if a door opener breaks and someone gets hurt?", "question", {}, [], None, "legal"),
 ("Qui s'occupe de récupérer les visières à Brest ? Il y a un dépôt ?", "question", {}, [], None, "logistics"),
 ("Can we accept money for the masks or must they be given for free?", "question", {}, [], None, "legal"),
 ("Est-ce que les écouvillons imprimés sont validés par l'ARS ?", "question", {}, [], None, "sanitary"),
 ("Which slicer settings do you use for PETG shields?", "question", {}, [], None, "technical"),
 ("Où envoyer les surblouses terminées ? Quelqu'un centralise pour le 44 ?", "question", {}, [], None, "logistics"),
 ("Peut-on utiliser du plexi de 3 mm pour les caissons d'intubation ou c'est trop fin ?", "question", {}, [], None, "technical"),
 ("Do volunteers driving deliveries need a special permit from the prefecture?", "question", {}, [], None, "legal"),
 # other
 ("Un grand merci aux makers de Vendée pour les 300 visières 🙏", "other", {}, [], None, None),
 ("Les 60 ouvre-portes sont arrivés à l'hôpital, merci !", "other", {}, [], None, None),
 ("On annule la demande de surblouses, le stock régional est arrivé", "other", {}, [], None, None),
 ("Mon imprimante a lâché, plateau HS, je suis hors jeu quelques jours", "other", {}, [], None, None),
 ("Interview de notre fablab sur France Bleu demain matin à 8h !", "other", {}, [], None, None),
 ("Thanks everyone, we received all the face shields we asked for.", "other", {}, [], None, None),
 ("Je n'ai plus de PETG, donc plus de visières pour le moment", "other", {}, [], None, None),
 ("coucou tout le monde, bon dimanche ☀️", "other", {}, [], None, None),
 ("Voici les photos de la livraison d'hier à l'EHPAD 📸", "other", {}, [], None, None),
 # mixed
 ("Plus besoin d'ouvre-portes, mais on aurait besoin de 15 visières pour vendredi. Clinique de Saumur", "need", {"face_shield": 15}, [], "2020-04-24", None),
 ("Je ne peux plus imprimer mais j'ai une voiture, je peux livrer sur Pau", "offer", {}, ["transport"], None, None),
 ("Besoin de 50 à 80 surblouses pour le CH de Tulle sous 72h", "need", {"gown": 50}, [], "2020-04-23", None),
 ("Nous aurions besoin de 100 masques tissu adultes et 40 enfants, école de Dax", "need", {"fabric_mask": 140}, [], None, None),
 ("need face shields asap, 25 would be perfect, hospice in Nîmes", "need", {"face_shield": 25}, [], None, None),
 ("Je peux sortir 20 visières par jour et 30 ouvre-portes par jour, Montargis", "offer", {"face_shield": 20, "door_opener": 30}, [], None, None),
]

def test_held_out_messages_generalise():
    """Messages not in the dev corpus: the recogniser must get most of them right, not just the corpus."""
    from datetime import datetime

    from core.recognise import Lexicon, Recogniser

    rec = Recogniser(Lexicon.default())
    cases = [(c, datetime.fromisoformat(SENT_AT)) for c in CASES] + [(c, datetime.fromisoformat(SENT_AT_2)) for c in CASES_2]
    intent_ok = item_ok = n_items = 0
    for (text, intent, items, _caps, _deadline, _topic), when in cases:
        r = rec.recognise(text, sent_at=when)
        intent_ok += r.intent == intent
        if intent in ("need", "offer"):
            n_items += 1
            item_ok += {m.item: m.quantity for m in r.items} == items
    assert intent_ok / len(cases) >= 0.9
    assert item_ok / n_items >= 0.85
