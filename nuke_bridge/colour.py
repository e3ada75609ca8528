"""Colourspace names from Nuke and Nuke Studio/Hiero in OCIO terms. No host import: both
`host.py` (Nuke) and `hiero_host.py` (Nuke Studio/Hiero) use it.

With the config file the host itself uses, a name (or the role inside Nuke's 'default (role)')
goes through as the host names it: that config defines it. Without one, nuke-default names are
mapped to OCIO's built-in studio config, and a name with no equivalent is refused in one line.
"""
from __future__ import annotations

import re
from typing import Optional

from plugin.errors import ColorError

# nuke-default colourspace names -> the same transform in OCIO's built-in studio config, used
# only when Nuke names no config file (its own config is always preferred). None: Nuke's own
# curve with no equivalent outside Nuke's config, so the plate is refused in one line rather
# than read through a guess. Names from the nuke-default config.ocio that Nuke ships.
NUKE_DEFAULT_TO_OCIO = {
    "linear": "Linear Rec.709 (sRGB)",
    "sRGB": "sRGB Encoded Rec.709 (sRGB)",
    "rec709": "Camera Rec.709",
    "Gamma1.8": "Gamma 1.8 Encoded Rec.709",
    "Gamma2.2": "Gamma 2.2 Encoded Rec.709",
    "Gamma2.4": "Gamma 2.4 Encoded Rec.709",
    "BT1886": "Gamma 2.4 Encoded Rec.709",  # BT.1886 with a zero black level is a pure 2.4 power
    "AlexaV3LogC": "ARRI LogC3 (EI800)",
    "SLog3": "S-Log3 S-Gamut3",
    "Log3G10": "Log3G10 REDWideGamutRGB",
    "raw": "Raw",
    "Cineon": None, "Panalog": None, "REDLog": None, "ViperLog": None, "PLogLin": None,
    "SLog": None, "SLog1": None, "SLog2": None, "CLog": None, "Log3G12": None, "Protune": None,
    "HybridLogGamma": None, "st2084": None, "rec2020": None, "Gamma2.6": None, "sRGBf": None,
}
_DEFAULT_ROLE = re.compile(r"^default\s*\((.*)\)$")


def ocio_name(value: str, config: Optional[str], owner: str) -> Optional[str]:
    """The OCIO colourspace for the host's colour setting `value` of `owner` (e.g. "Read node Plate").

    Raises:
        ColorError: no config file and a name only the host's own config defines.
    """
    name = str(value or "").strip()
    match = _DEFAULT_ROLE.match(name)
    if match:
        name = match.group(1).strip()
    if not name or config:
        return name or None
    if NUKE_DEFAULT_TO_OCIO.get(name):
        return NUKE_DEFAULT_TO_OCIO[name]
    raise ColorError(f"{owner} is in colourspace '{name}', which only Nuke's own OCIO config defines, "
                     f"and no config file is named here: set $OCIO or choose a config in the project's "
                     f"colour settings.")
