"""Resolving the deadline of a need ("avant vendredi", "sous 48h", "by May 5th") against the local date.

A small resolver rather than dateparser: dateparser misses most relative French forms people use
("avant vendredi", "d'ici jeudi", "sous 48h", "lundi prochain", "demain matin") and costs milliseconds
per call. Runs on folded text (lower case, no accents).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "tues": 1, "thurs": 3,
}
MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6,
    "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5, "june": 6,
    "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "october": 10, "november": 11,
    "december": 12,
}

_WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MO = "|".join(sorted(MONTHS, key=len, reverse=True))

# Words that may follow "lundi 11" and leave 11 a day of the month.
_DAY_WORDS = r"(?:au|a|at|matin|soir|midi|apres|morning|evening|afternoon|svp|stp|please|merci|thanks|si|if|max|dernier|latest)\b"

# Anchors carry the date itself; the word that introduces it ("avant", "pour", "by"...) is read just before.
_ANCHORS = [
    ("dmy", r"(?<![\d/])(?P<d>[0-3]?\d)/(?P<m>[01]?\d)(?:/(?P<y>(?:20)?\d\d))?(?![\d/])"),
    ("dmonth", rf"\b(?P<d>[0-3]?\d)(?:er|e|eme|st|nd|rd|th)?\s{{1,2}}(?P<mon>{_MO})\b\.?(?:\s{{1,2}}(?P<y>20\d\d))?"),
    ("monthd", rf"\b(?P<mon>{_MO})\.?\s{{1,2}}(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b"),
    ("in", r"\b(?P<lead>sous|dans|d'ici|d ici|within|in|en moins de|under|delai)(?:\s{1,3}(?:ideal|souhaite|max|maximum|maxi))?"
           r"(?:\s{0,2}:)?\s{1,3}(?:les\s|the\s|next\s|prochaines?\s)?"
           r"(?P<n>\d{1,3})\s{0,2}(?P<unit>h|heures?|hours?|hrs?|jours?|j|days?|semaines?|sem|weeks?)\b"),
    ("endmonth", rf"\b(?:fin|end)\s{{1,2}}(?:de\s|du\s|d'|of\s)?(?:(?:la|the)\s)?(?P<mon>{_MO}|mois|month)\b"),
    ("endweek", r"\b(?:(?:fin|end)\s{1,2}(?:de\s|of\s)?(?:la\s|the\s|this\s|cette\s)?(?:semaine|week)|cette semaine|this week)\b"),
    ("weekend", r"\b(?:ce|this)\s(?:week-?\s?end)\b"),
    ("rel", r"\b(?P<rel>apres[- ]demain|day after tomorrow|demain|tomorrow|aujourd'hui|aujourd hui|today|ce soir|tonight|ce midi|"
            r"cet apres[- ]midi|this (?:afternoon|evening)|end of (?:the )?day|fin de journee)\b"),
    # a weekday alone ("vendredi", "lundi prochain") or with a day of the month, the month left out ("lundi 11",
    # "Friday 17th"); "lundi 11 mai" is left to "dmonth"
    # "lundi 20 visières" is a Monday and a count
    ("weekday", rf"\b(?P<wd>{_WD})\b(?:\.?\s{{1,2}}(?P<d>[0-3]?\d)(?:er|e|st|nd|rd|th)?\b(?![.,/:h]\d)"
                rf"(?!\s{{0,2}}(?:{_MO}|h\b|heures?\b|/))(?!\s{{1,2}}(?!{_DAY_WORDS})[a-z])"
                rf"|(?!\.?,?\s{{1,2}}[0-3]?\d\b(?!\s{{1,2}}(?!(?:{_MO})\b)[a-z]))"
                rf"(?P<next>\s(?:prochain|next|qui vient))?)"),
]
_RX = re.compile("|".join(f"(?P<{name}>{rx.replace('(?P<', f'(?P<{name}_')})" for name, rx in _ANCHORS))
_LEAD_BEFORE = re.compile(
    r"(?:^|[^\w'])(?P<lead>avant le|avant|pour le|pour|d'ici le|d'ici|d ici|by|before|until|till|jusqu'a|jusqu a|"
    r"au plus tard le|au plus tard|deadline|delai|on|le|this|ce|cette|next|des|from|a partir de|a partir du|depuis|since|"
    r"after|apres|du|la)(?:\s(?:le|la|the))?[\s:,.-]{0,3}(?:(?:" + _WD + r")\.?,?\s{1,2})?(?:(?:la|the)\s)?$")

_NON_DEADLINE_LEADS = {"des", "from", "a partir de", "a partir du", "depuis", "since", "after", "apres"}
_STRONG_LEADS = {"avant", "pour", "d'ici", "d ici", "by", "before", "until", "till", "jusqu'a", "jusqu a",
                 "au plus tard", "au plus tard le", "deadline", "delai", "pour le", "avant le", "d'ici le", "sous",
                 "within", "dans", "in", "en moins de", "under"}
# A weekday said of something already done ("nous avons ouvert un secteur lundi", "we opened a ward on Monday",
# "lundi dernier", "last Monday") dates the past, not a deadline. Read on the original text: accents tell a past
# participle ("ouvert", "livré") from other words.
_PAST_WEEKDAY = re.compile(rf"\b(?:{_WD})\s{{1,2}}(?:dernier|derniere|passe)\b|\blast\s{{1,2}}(?:{_WD})\b")
_PLANNED = (r"(?!c[ôo]t[ée]|pr[ée]vu|programm[ée]|planifi[ée]|fix[ée]|command[ée]|demand[ée]|souhait[ée]|"
            r"pass[ée]\s+commande|(?:du|plus|tous|trois|vous|nous|sous|puis|depuis|mais|jamais|dessus|dessous|"
            r"lui|tout|ici|jus)\b)")
_PAST_CLAUSE = re.compile(
    r"(?i)(?:\b(?:j'|j’|je\s+|nous\s+|vous\s+|ils\s+|elles\s+|tu\s+)(?:ai|as|avons|avez|ont)"
    r"|\b\w+\s+a)\s+(?:(?:d[ée]j[àa]|bien|enfin|juste|tout|encore)\s+){0,2}" + _PLANNED +
    r"(?:\w+(?:é|ée|és|ées|ert|erts|erte|ertes|u|us|ue|ues|is|it|its)\b)"
    r"|\b(?:we|i|they|he|she)\s+(?:(?:already|just|finally)\s+)?(?!need)(?:\w{2,}ed|got|had|began|sent|took|made|"
    r"came|went)\b|\b(?:we|i|they)\s*(?:'ve|’ve|\s+have|\s+had)\s+(?:(?:already|just)\s+)?(?:\w{2,}ed|got|been|"
    r"sent|made|begun|taken)\b")
_CLAUSE_SEP = re.compile(r"[.,;:!?\n]")
_HINT = re.compile(r"\d|demain|tomorrow|today|aujourd|soir|tonight|midi|semaine|week|fin|end|" + _WD)


def _coming(today: date, weekday: int) -> date:
    delta = (weekday - today.weekday()) % 7
    return today + timedelta(days=delta or 7)


def _make(y: int, m: int, d: int, today: date) -> date | None:
    try:
        out = date(y, m, d)
    except ValueError:
        return None
    if out < today - timedelta(days=60):
        try:
            out = date(y + 1, m, d)
        except ValueError:
            return None
    return out


def _resolve(kind: str, g: dict, today: date) -> date | None:
    if kind == "dmy":
        d, m = int(g["dmy_d"]), int(g["dmy_m"])
        y = g.get("dmy_y")
        year = (2000 + int(y) if len(y) == 2 else int(y)) if y else today.year
        if not (1 <= m <= 12):
            return None
        return _make(year, m, d, today) if not y else _exact(year, m, d)
    if kind in ("dmonth", "monthd"):
        mon = MONTHS[g[f"{kind}_mon"]]
        d = int(g[f"{kind}_d"])
        y = g.get(f"{kind}_y")
        return _exact(int(y), mon, d) if y else _make(today.year, mon, d, today)
    if kind == "in":
        n = int(g["in_n"])
        unit = g["in_unit"]
        if unit.startswith("h"):
            days = max(1, -(-n // 24))
        elif unit.startswith(("s", "w")):
            days = 7 * n
        else:
            days = n
        return today + timedelta(days=days) if days <= 400 else None
    if kind == "endmonth":
        mon = g["endmonth_mon"]
        m = today.month if mon in ("mois", "month") else MONTHS[mon]
        y = today.year if m >= today.month - 1 else today.year + 1
        return date(y, m, calendar.monthrange(y, m)[1])
    if kind == "endweek":
        return today + timedelta(days=(4 - today.weekday()) % 7) if today.weekday() <= 4 else _coming(today, 4)
    if kind == "weekend":
        return today if today.weekday() == 5 else _coming(today, 5)
    if kind == "rel":
        rel = g["rel_rel"]
        if "apres" in rel or "after" in rel:
            return today + timedelta(days=2)
        if rel.startswith(("demain", "tomorrow")):
            return today + timedelta(days=1)
        return today
    if kind == "weekday" and "weekday_d" not in g:
        return _coming(today, WEEKDAYS[g["weekday_wd"]])
    if kind == "weekday":
        # this month's or next month's such day, the one whose weekday agrees, else the first (a typo)
        wd, d = WEEKDAYS[g["weekday_wd"]], int(g["weekday_d"])
        y, m, first = today.year, today.month, None
        for _ in range(2):
            out = _exact(y, m, d)
            if out is not None and out >= today:
                if out.weekday() == wd:
                    return out
                first = first or out
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return first
    return None


def _exact(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _said_of_the_past(original: str, norm: str, start: int, end: int) -> bool:
    """Does the weekday at norm[start:end] date something already done, in its own clause?"""
    if _PAST_WEEKDAY.match(norm, start) or norm[max(0, start - 6):start].endswith("last "):
        return True
    lo = max((m.end() for m in _CLAUSE_SEP.finditer(norm, max(0, start - 200), start)), default=max(0, start - 200))
    nxt = _CLAUSE_SEP.search(norm, end)
    hi = nxt.start() if nxt else len(norm)
    return _PAST_CLAUSE.search(original, lo, hi) is not None


def find_deadline(norm: str, today: date, original: str | None = None) -> tuple[date, str, bool] | None:
    """The deadline named in folded text, the words it came from and whether a deadline word introduced it.

    A date introduced by a deadline word ("avant", "pour", "by", "sous", "d'ici") wins over a bare one;
    dates introduced by "from", "à partir du", "depuis" are never deadlines. Given the `original` text (same
    length as `norm`), a weekday with no deadline word in a clause told in the past ("nous avons ouvert un
    service lundi") is no deadline either.
    """
    if not _HINT.search(norm):
        return None
    best: tuple[int, int, date, str] | None = None
    for m in _RX.finditer(norm):
        kind = m.lastgroup
        g = {k: v for k, v in m.groupdict().items() if v is not None}
        lead = (g.get(f"{kind}_lead") or "").strip()
        start = m.start()
        if not lead:
            lm = _LEAD_BEFORE.search(norm, max(0, start - 40), start)
            if lm:
                lead = lm.group("lead")
                start = lm.start("lead")
        if lead in _NON_DEADLINE_LEADS:
            continue
        if kind == "weekday" and lead not in _STRONG_LEADS and not g.get("weekday_next") and original is not None \
                and len(original) == len(norm) and _said_of_the_past(original, norm, m.start(), m.end()):
            continue
        try:
            when = _resolve(kind, g, today)
        except (KeyError, ValueError, OverflowError):
            when = None
        if when is None or when < today:
            continue
        rank = 0 if lead in _STRONG_LEADS else 1
        cand = (rank, start, when, norm[start:m.end()].strip())
        if best is None or cand[:2] < best[:2]:
            best = cand
    return (best[2], best[3], best[0] == 0) if best else None
