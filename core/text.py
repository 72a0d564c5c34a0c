"""Cleaning what people type, and keeping personal contact details out of public messages."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

# Bidirectional overrides and isolates let a message display differently from what it says.
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def clean(text: str) -> str:
    """NFC-normalised text without control characters, bidi overrides, zero-width marks or lone surrogates."""
    if not text:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text
    text = unicodedata.normalize("NFC", text).translate(_BIDI).translate(_ZERO_WIDTH)
    # Printable text has none of those categories: only other text is filtered character by character.
    if not text.replace("\n", "").replace("\t", "").isprintable():
        text = "".join(
            ch for ch in text
            if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
        )
    text = text.replace("\t", " ").replace("\r", "")
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def redact_contacts(text: str) -> str:
    """Replace e-mail addresses and phone numbers with a neutral mark."""
    if not text:
        return text
    text = _EMAIL.sub("[e-mail]", text)
    if sum(ch.isdigit() for ch in text) < 2:
        return text  # a phone number has at least two digits: no need to run the (slow) matcher
    spans = []
    for region in ("FR", None):
        try:
            for match in phonenumbers.PhoneNumberMatcher(text, region or "ZZ", leniency=phonenumbers.Leniency.POSSIBLE, max_tries=200):
                spans.append((match.start, match.end))
        except Exception:  # pragma: no cover - the matcher is defensive already
            pass
        if spans:
            break
    for start, end in sorted(set(spans), reverse=True):
        text = text[:start] + "[tél.]" + text[end:]
    return text


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
