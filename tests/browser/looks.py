"""How a page looks on a small phone and on a desktop, and the accessibility basics we promise.

``Looks.check(page, name)`` takes full-page screenshots at 360×780 and 1280×800 (for a person to
look at; they land in tests/browser/screenshots/, ignored by git) and fails the test when, at
either width, the page:
- has no ``lang`` of "vi" or "en" on <html>;
- has an input, select or textarea without a label;
- has a button, disclosure (summary) or text field shorter than 44 px (too small for a thumb);
- has text whose contrast with its background is below WCAG AA (4.5:1, or 3:1 for large text);
- scrolls sideways at 360 px.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WIDTHS = ((360, 780), (1280, 800))
MIN_TARGET = 44  # px: WCAG 2.5.5 and the platform guides' thumb size

_AUDIT = (Path(__file__).parent / "audit.js").read_text()


@dataclass
class Looks:
    folder: Path
    prefix: str

    def check(self, page, name: str) -> list[Path]:
        """Screenshot ``page`` at each width and assert the basics; the page is left at 1280 px."""
        self.folder.mkdir(parents=True, exist_ok=True)
        shots, problems = [], []
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            path = self.folder / f"{self.prefix}--{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)
            problems += [f"{width} px: {p}" for p in page.evaluate(_AUDIT, MIN_TARGET)]
        assert not problems, f"{name} ({page.url}):\n" + "\n".join(problems)
        return shots
