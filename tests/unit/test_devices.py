"""Device names a citizen recognises on the sessions page, from the browsers common in Vietnam."""

import pytest

from idp.identity.devices import describe, parse

UA = {
    "zalo": "Mozilla/5.0 (Linux; Android 12; CPH2239) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36 Zalo android/12100645 ZaloTheme/light",
    "coccoc": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "coc_coc_browser/125.0.0 Chrome/119.0.0.0 Safari/537.36",
    "samsung": "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "firefox_mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
}


@pytest.mark.parametrize(
    "key, expected",
    [
        ("zalo", "Zalo trên Android"),
        ("coccoc", "Cốc Cốc trên Windows"),
        ("samsung", "Samsung Internet trên Android"),
        ("iphone", "Safari trên iPhone"),
        ("edge", "Edge trên Windows"),
        ("firefox_mac", "Firefox trên Mac"),
    ],
)
def test_the_browser_and_system_are_named(key, expected):
    assert describe(UA[key]) == expected


def test_english_words_and_an_unknown_device():
    assert describe(UA["iphone"], on="on") == "Safari on iPhone"
    assert describe(None, unknown="Unknown device") == "Unknown device"
    assert describe("curl/8.5.0") == "Thiết bị không rõ"


def test_phones_are_mobile_and_computers_are_not():
    assert parse(UA["samsung"]).mobile and parse(UA["iphone"]).mobile
    assert not parse(UA["coccoc"]).mobile
