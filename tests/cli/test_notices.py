"""``notice publish`` and ``notice list`` on the command line."""

from __future__ import annotations

import itertools

import pytest

from alumni.consent import notices
from tests.conftest import FIRST_NOTICE

folders = itertools.count()


@pytest.fixture
def config_overrides():
    return {"BABEL_DEFAULT_LOCALE": "en"}  # the tests read the English texts


def texts(tmp_path, nl: bytes = b"# Privacy\n\nJe gegevens.\n", en: bytes = b"Data.\n"):
    """The two files of a version, in a folder of their own."""
    folder = tmp_path / str(next(folders))
    folder.mkdir()
    (folder / "nl.md").write_bytes(nl)
    (folder / "en.md").write_bytes(en)
    return ["--nl", str(folder / "nl.md"), "--en", str(folder / "en.md")]


def test_publish_prints_the_digests_and_the_version_is_in_force(app, runner, tmp_path):
    args = ["notice", "publish", "--version", "2027-01", *texts(tmp_path), "--material"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    notice = notices.find("2027-01")
    assert notice.material and notices.version_in_force() == "2027-01"
    assert notice.sha256_nl in result.output and notice.sha256_en in result.output


def test_publish_refusals_say_why_and_change_nothing(app, runner, tmp_path):
    cases = [
        (["--version", FIRST_NOTICE, *texts(tmp_path)], "published already"),
        (["--version", "2027 01", *texts(tmp_path)], "letters, digits"),
        (["--version", "2027-01", *texts(tmp_path, nl=b"\xff\xfe")], "not UTF-8"),
        (["--version", "2027-01", *texts(tmp_path, en=b"\n")], "English text is empty"),
        (["--version", "2027-01", "--nl", str(tmp_path / "missing.md"), "--en", "x"], "cannot"),
    ]
    for args, reason in cases:
        result = runner.invoke(args=["notice", "publish", *args])
        assert result.exit_code != 0, args
        assert reason in result.output, (args, result.output)
    assert [notice.version for notice in notices.every_version()] == [FIRST_NOTICE]


def test_list_shows_every_version_newest_first(app, runner, tmp_path):
    runner.invoke(args=["notice", "publish", "--version", "2027-01", *texts(tmp_path)])
    lines = runner.invoke(args=["notice", "list"]).output.splitlines()
    assert [line.split()[0] for line in lines] == ["2027-01", FIRST_NOTICE]
