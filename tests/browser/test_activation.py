"""In Chromium: a citizen whose account a community digital-technology team created (``idp users
import``) types the activation code from the paper slip, chooses a password, and logs in."""

from __future__ import annotations

import csv
import datetime as dt
import random
import subprocess

from idp.identity import cccd
from tests.e2e.environment import IDP, PROJECT_ROOT, idp_environment


def test_activate_an_account_made_by_the_community_team(page, live_server, settings, tmp_path, looks):
    number = cccd.synthetic(dt.date(1958, 9, 2), "male", random.Random())
    sheet = tmp_path / "citizens.csv"
    sheet.write_text("cccd,full_name,birth_date,gender,phone,email\n"
                     f"{number},Hà Văn Thắng,02/09/1958,nam,+84987{random.randrange(10**6):06d},\n",
                     encoding="utf-8")
    slips = tmp_path / "codes.csv"
    done = subprocess.run([str(IDP), "users", "import", str(sheet), "--codes-out", str(slips)],
                          env=idp_environment(settings), cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    [slip] = csv.DictReader(slips.open(encoding="utf-8"))
    assert slip["cccd"] == number
    paper_code = slip["activation_code"]

    page.goto(live_server.url + "/login")
    page.locator("main a[href*='/activate']").click()
    looks.check(page, "activate")
    page.locator("#citizen_id").fill(number)
    page.locator("#code").fill(paper_code)
    page.locator("#password").fill("ong-thang-trong-che-1958")
    page.locator("form:has(#code) button[type=submit]").click()

    page.locator("#password").wait_for()
    assert "/login" in page.url
    page.locator("#identifier").fill(number)
    page.locator("#password").fill("ong-thang-trong-che-1958")
    page.locator("form button[type=submit]").click()
    page.goto(live_server.url + "/account")
    assert "Hà Văn Thắng" in page.locator("main").inner_text()
