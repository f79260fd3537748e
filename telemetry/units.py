"""Unit conversions as data: what a payload source may convert a gateway's unit into.

Units are compared by their first word (`unit_key`): "mm/s RMS" and "mm/s" are the same unit,
measured as an RMS. The rest of the text is a qualifier (RMS, peak, gauge) that a conversion keeps:
in/s RMS becomes mm/s RMS, and converting "in/s peak" to "mm/s RMS" is refused, since no factor
turns a peak into an RMS. A few common spellings are aliases (degF, um, ips, m/s^2).

Plain Python: the decoder applies conversions on the MQTT network thread, without the database.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Conversion:
    """value * factor + offset."""

    factor: float = 1.0
    offset: float = 0.0

    def apply(self, value: float) -> float:
        return value * self.factor + self.offset

    @property
    def is_identity(self) -> bool:
        return self.factor == 1.0 and self.offset == 0.0


IDENTITY = Conversion()

# (from, to) by unit key. Each pair is the one a plant meets: imperial or SI gateway units into the
# units MaintainX's machine types use (mm/s, µm, m/s², °C, bar).
CONVERSIONS: dict[tuple[str, str], Conversion] = {
    ("in/s", "mm/s"): Conversion(25.4),
    ("mil", "µm"): Conversion(25.4),
    ("g", "m/s²"): Conversion(9.80665),
    ("°F", "°C"): Conversion(5 / 9, -32 * 5 / 9),
    ("K", "°C"): Conversion(1.0, -273.15),
    ("psi", "bar"): Conversion(0.0689475729),
    ("kPa", "bar"): Conversion(0.01),
}

_ALIASES = {
    "ips": "in/s",
    "in/sec": "in/s",
    "mils": "mil",
    "um": "µm",
    "\u03bcm": "µm",  # Greek mu, which keyboards give more often than the micro sign
    "m/s2": "m/s²",
    "m/s^2": "m/s²",
    "degF": "°F",
    "F": "°F",
    "\u2109": "°F",  # the one-character ℉
    "degC": "°C",
    "C": "°C",
    "\u2103": "°C",  # the one-character ℃
    "kelvin": "K",
}


def unit_key(unit: str) -> str:
    """The unit a text names, without its qualifier: "mm/s RMS" → "mm/s", "degF" → "°F"."""
    words = unit.split()
    if not words:
        return ""
    return _ALIASES.get(words[0], words[0])


def _qualifier(unit: str) -> str:
    return " ".join(unit.split()[1:]).casefold()


def conversion_find(from_unit: str, to_unit: str) -> Conversion | None:
    """How a value in `from_unit` becomes one in `to_unit`; None when the table has no such pair
    (or the qualifiers differ: an RMS is not a peak)."""
    source_qualifier, target_qualifier = _qualifier(from_unit), _qualifier(to_unit)
    if source_qualifier and target_qualifier and source_qualifier != target_qualifier:
        return None
    source, target = unit_key(from_unit), unit_key(to_unit)
    if not source or not target:
        return None
    if source == target:
        return IDENTITY
    return CONVERSIONS.get((source, target))


def conversions_from(unit: str) -> list[str]:
    """The units the table converts `unit` into: what an error message offers instead."""
    key = unit_key(unit)
    return sorted({key} | {target for source, target in CONVERSIONS if source == key}) if key else []
