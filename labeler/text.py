"""What people type, made safe to keep and to show: annotator names, and bad input quoted in errors.

The labeling app is open to a crowd, so an error never echoes a value whole (a 10 MB option would
come back as a 10 MB reply) and a stored name holds no invisible characters.
"""

from __future__ import annotations

import unicodedata

from latentlab.core.errors import QUOTE_LIMIT, UserError, quoted

__all__ = ["QUOTE_LIMIT", "check_annotator_name", "quoted"]

NAME_LIMIT = 40  # characters of an annotator name (after NFC)
NAME_PUNCTUATION = " ._@-"  # besides letters, combining marks and digits; no markup characters
HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (invisible), surrogate, private, unassigned

def check_annotator_name(name: object) -> str:
    """The annotator's name, NFC-normalised and stripped, or a refusal.

    Any script's letters are welcome ("José", "李雷"); names are shown to admins, so no markup and
    nothing invisible (control or format characters such as a zero-width space)."""
    rule = (f"an annotator name must be 1-{NAME_LIMIT} letters (of any script), digits, spaces or . _ @ - and start with "
            "a letter or digit")
    if not isinstance(name, str) or len(name) > 4 * NAME_LIMIT + 16:  # refused before normalising a huge one
        raise UserError(rule if not isinstance(name, str) else f"an annotator name must be at most {NAME_LIMIT} "
                        "characters long")
    name = unicodedata.normalize("NFC", name).strip()
    hidden = next((c for c in name if unicodedata.category(c) in HIDDEN), None)
    if hidden is not None:
        raise UserError(f"an annotator name must be free of control or invisible characters "
                        f"(it has U+{ord(hidden):04X}); type it again without them")
    if len(name) > NAME_LIMIT:
        raise UserError(f"an annotator name must be at most {NAME_LIMIT} characters long, this one has {len(name)}")
    allowed = all(c.isalnum() or unicodedata.category(c).startswith("M") or c in NAME_PUNCTUATION for c in name)
    if not name or not allowed or not name[0].isalnum():
        raise UserError(rule)
    return name
