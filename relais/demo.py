"""``relais demo``: a scripted crisis played through the real core on a throwaway database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from core.settings import Settings

START = datetime(2020, 3, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Paris

SCRIPT = {
    "fr": """
# 1. Un EHPAD demande des visières sur Telegram
/as caregiver "Marie (EHPAD Les Tilleuls)" telegram
/start
Bonjour, il nous faudrait 200 visières pour l'EHPAD Les Tilleuls à Tours avant vendredi svp
/click 1
# 2. Des makers proposent leur aide sur Discord
/wait 20m
/as maker "Léa" discord
j'ai 2 Prusa et une découpe laser à Joué-lès-Tours, dispo pour des visières, une cinquantaine par jour
/click 1
/as maker "FabLab Amboise" discord
On a 4 imprimantes 3D au fablab d'Amboise, on peut sortir des visières
/click 1
# 3. Les makers s'engagent
/wait 10m
/as maker "Léa" discord
/engager N-1 120
/as maker "FabLab Amboise" discord
/engager N-1 100
/engager N-1 80
# 4. L'autorité valide un modèle et en retire un autre ; les liens partagés sont vérifiés
/as contact "Dr Claire Martin" telegram
/start
/modele ajouter https://www.printables.com/model/25857-prusa-face-shield-rc3 visière RC3 CC-BY-NC
/modele valider https://www.printables.com/model/25857-prusa-face-shield-rc3
/modele ajouter https://www.thingiverse.com/thing:4233193 visière v1
/modele retirer https://www.thingiverse.com/thing:4233193 serre-tête trop fragile, utilisez la RC3
/as maker "Léa" discord
Le modèle que j'utilise : https://www.printables.com/model/25857-prusa-face-shield-rc3
/as maker "FabLab Amboise" discord
Nous on imprime celui-ci : https://www.thingiverse.com/thing:4233193
# 5. Une question remonte au contact national, qui répond
/as caregiver "Marie (EHPAD Les Tilleuls)" telegram
A-t-on le droit de distribuer des valves imprimées en 3D pour les masques de plongée ?
/click 1
/wait 1h
/as contact "Dr Claire Martin" telegram
/reponse Q-1 Non, pas librement : les valves sont en catégorie 3. Uniquement sur demande écrite d'un établissement de santé qui en prend la responsabilité, avec traçabilité du lot et du maker.
# 6. Livraison
/wait 3h
/as maker "Léa" discord
/livre N-1 120
/as caregiver "Marie (EHPAD Les Tilleuls)" telegram
/suivi
# 7. Le lendemain matin : le point de coordination
/wait 18h
""",
    "en": """
# 1. A care home asks for face shields on Telegram
/as caregiver "Mary (Les Tilleuls care home)" telegram
/lang en
We need 200 face shields for the Les Tilleuls care home in Tours by Friday please
/click 1
# 2. Makers offer help on Discord
/wait 20m
/as maker "Lea" discord
/lang en
I have 2 Prusa printers and a laser cutter in Joué-lès-Tours, available for face shields, about 50 a day
/click 1
/as maker "Amboise FabLab" discord
/lang en
We have 4 3D printers at the Amboise fablab, we can make face shields
/click 1
# 3. Makers commit
/wait 10m
/as maker "Lea" discord
/commit N-1 120
/as maker "Amboise FabLab" discord
/commit N-1 100
/commit N-1 80
# 4. The authority validates one design and withdraws another; shared links are checked
/as contact "Dr Claire Martin" telegram
/lang en
/design add https://www.printables.com/model/25857-prusa-face-shield-rc3 face_shield RC3 CC-BY-NC
/design validate https://www.printables.com/model/25857-prusa-face-shield-rc3
/design add https://www.thingiverse.com/thing:4233193 face_shield v1
/design withdraw https://www.thingiverse.com/thing:4233193 headband too brittle, use RC3
/as maker "Lea" discord
The design I use: https://www.printables.com/model/25857-prusa-face-shield-rc3
/as maker "Amboise FabLab" discord
We print this one: https://www.thingiverse.com/thing:4233193
# 5. A question goes to the national contact, who answers
/as caregiver "Mary (Les Tilleuls care home)" telegram
Are we allowed to hand out 3D-printed valves for snorkel masks?
/click 1
/wait 1h
/as contact "Dr Claire Martin" telegram
/answer Q-1 Not freely: valves are category 3. Only on the written request of a health facility that takes responsibility, with batch and maker traceability.
# 6. Delivery
/wait 3h
/as maker "Lea" discord
/deliver N-1 120
/as caregiver "Mary (Les Tilleuls care home)" telegram
/status
# 7. Next morning: the coordination briefing
/wait 18h
""",
}


def run_demo(settings: Settings, out: TextIO, *, as_json: bool = False) -> int:
    from core.db import Database, upgrade
    from core.hub import Hub
    from core.ports import FakeClock
    from relais.console import Console

    upgrade(settings.database_url)
    db = Database(settings.database_url)
    hub = Hub(db, settings=settings, clock=FakeClock(START))
    console = Console(hub, out, as_json=as_json)
    for line in SCRIPT[settings.default_language].strip().splitlines():
        if line.startswith("# ") and not as_json:
            out.write(f"\n━━ {line[2:]} ━━\n")
            continue
        console.handle_line(line)
    db.dispose()
    return 0
