"""Offline recovery of weak signing keys: recognise signed cookies and tokens, try candidate
secrets on every core, and forge a re-signed value as proof.

Typical use::

    token = parse_token(cookie_value, name=cookie_name)
    if token is not None:
        result = crack(token, default_candidates(extra=harvest_words(pages, [host])))
        if result.found:
            proof = forge(token, result.key)
"""

from __future__ import annotations

from apigrade.crack.candidates import (
    Candidates,
    Source,
    WordlistFile,
    Words,
    builtin_defaults,
    default_candidates,
    package_wordlist,
    wordlist,
)
from apigrade.crack.cracker import CrackError, CrackProgress, CrackResult, crack, verify_key
from apigrade.crack.forge import KEEP, forge, mask_secret
from apigrade.crack.harvest import harvest_words
from apigrade.crack.schemes import COMMON_SALTS, Scheme
from apigrade.crack.tokens import (
    SignedToken,
    TokenKind,
    looks_like_pickle,
    parse_token,
    split_cookie,
)

__all__ = [
    "COMMON_SALTS",
    "KEEP",
    "Candidates",
    "CrackError",
    "CrackProgress",
    "CrackResult",
    "Scheme",
    "SignedToken",
    "Source",
    "TokenKind",
    "Words",
    "WordlistFile",
    "builtin_defaults",
    "crack",
    "default_candidates",
    "forge",
    "harvest_words",
    "looks_like_pickle",
    "mask_secret",
    "package_wordlist",
    "parse_token",
    "split_cookie",
    "verify_key",
    "wordlist",
]
