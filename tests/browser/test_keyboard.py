"""In Chromium, without a mouse: a citizen who uses the keyboard (or a switch device) logs in and
consents with Tab and Enter, and always sees where the focus is."""

from __future__ import annotations

# The focus ring's contrast with the page behind it (WCAG 2.2, 1.4.11 and 2.4.13 ask for 3:1).
_RING_CONTRAST = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) return 0;
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number).slice(0, 3);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = [255, 255, 255];
  for (let e = el.parentElement; e; e = e.parentElement) {
    const c = (getComputedStyle(e).backgroundColor.match(/[\\d.]+/g) || []).map(Number);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { bg = c.slice(0, 3); break; }
  }
  const [a, b] = [lum(rgb(s.outlineColor)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def focused(page) -> str:
    return page.evaluate("(() => { const e = document.activeElement;"
                         " return e.id || (e.name + '=' + e.value); })()")


def test_log_in_and_consent_with_the_keyboard_alone(page, portal, make_citizen):
    citizen = make_citizen()

    page.goto(portal.start_url())
    assert focused(page) == "identifier"  # the cursor waits in the first field
    assert page.evaluate(_RING_CONTRAST) >= 3
    page.keyboard.type(citizen["citizen_id"])
    page.keyboard.press("Tab")
    assert focused(page) == "password"
    page.keyboard.type(citizen["password"])
    page.keyboard.press("Enter")

    page.locator("button[name=decision][value=allow]").wait_for()
    page.wait_for_load_state("load")  # its stylesheet too: the ring is checked as drawn
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused(page) == "decision=allow":
            break
    assert focused(page) == "decision=allow"
    assert page.evaluate(_RING_CONTRAST) >= 3
    page.keyboard.press("Enter")
    page.wait_for_url(portal.redirect_uri + "?*")
    assert page.locator("#signed-in").inner_text() == citizen["subject"]
