"""The README is the operator's manual: every setting the code reads is documented there."""

from pathlib import Path

from idp.config import describe

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme():
    missing = [env for env, _, _ in describe() if f"`{env}`" not in README]
    assert missing == []
