"""The page checks themselves: a page that breaks each promise is caught, a plain good one passes."""

from __future__ import annotations

import pytest

from tests.browser.looks import Looks

BAD = """<!doctype html><html><body style="margin: 0">
<input name="unlabelled" type="text">
<button style="height: 20px; padding: 0">tiny</button>
<label style="display: block; line-height: 20px"><input type="checkbox" name="agree" value="yes"> ok</label>
<p style="color: #bbb; background: #fff">faint text</p>
<div style="width: 600px">too wide</div>
</body></html>"""

GOOD = """<!doctype html><html lang="vi"><body style="margin: 0">
<label for="name">Họ và tên</label><input id="name" name="name" type="text" style="height: 48px">
<button style="height: 48px">Gửi</button>
<p style="color: #1a1a1a">Chữ đủ đậm</p>
</body></html>"""


def test_a_page_breaking_each_rule_is_reported(page, tmp_path):
    page.set_content(BAD)
    with pytest.raises(AssertionError) as caught:
        Looks(tmp_path, prefix="bad").check(page, "page")
    report = str(caught.value)
    assert '<html lang="">' in report
    assert "no label: unlabelled" in report
    assert "small target (20 px): tiny" in report
    assert "small target (21 px): agree=yes" in report  # the label, as tall as its checkbox
    assert 'contrast 1.92: "faint text"' in report
    assert "360 px: scrolls sideways: 600 px wide at 360 px" in report
    assert "1280 px: scrolls sideways" not in report
    assert (tmp_path / "bad--page-360.png").stat().st_size > 0


def test_a_plain_good_page_passes(page, tmp_path):
    page.set_content(GOOD)
    shots = Looks(tmp_path, prefix="good").check(page, "page")
    assert [p.name for p in shots] == ["good--page-360.png", "good--page-1280.png"]
