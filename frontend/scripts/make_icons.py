"""Draws the installable dashboard's icons into frontend/public/icons/ (committed; run again after a
change of design): the brand's "M" in white on its blue, as plain shapes, so that nothing is
downloaded and no font is needed.

    ../.venv/bin/python scripts/make_icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (15, 59, 102)  # --brand in src/app/styles.css
WHITE = (255, 255, 255)
ICONS = Path(__file__).resolve().parent.parent / "public" / "icons"
SUPERSAMPLE = 4  # drawn larger, then scaled down: smooth edges without anti-aliased drawing


def m_letter(draw: ImageDraw.ImageDraw, size: int, *, inset: float) -> None:
    """The "M" as one thick polyline, inside the square less `inset` (a fraction of its side) on each side."""
    low, high = size * inset, size * (1 - inset)
    span = high - low
    points = [
        (low + span * 0.12, low + span * 0.85),
        (low + span * 0.12, low + span * 0.18),
        (low + span * 0.5, low + span * 0.62),
        (low + span * 0.88, low + span * 0.18),
        (low + span * 0.88, low + span * 0.85),
    ]
    draw.line(points, fill=WHITE, width=round(span * 0.14), joint="curve")


def icon(size: int, *, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        # The launcher crops a maskable icon to its own shape: fill it all, keep the letter inside
        # the central safe zone (a circle of 80 % of the side).
        draw.rectangle((0, 0, big, big), fill=BRAND)
        m_letter(draw, big, inset=0.27)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=BRAND)
        m_letter(draw, big, inset=0.18)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in [
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
        ("apple-touch-icon-180.png", 180, True),
    ]:
        icon(size, maskable=maskable).save(ICONS / name, optimize=True)
        print(ICONS / name)


if __name__ == "__main__":
    main()
