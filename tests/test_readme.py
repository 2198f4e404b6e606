"""The README stays true: its table lists every code, and it has exactly two set-up commands."""

import re
from pathlib import Path

from iptlint.rules import all_rules

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_code_is_in_the_readme():
    listed = set(re.findall(r"^\| ([SRDXP][0-9]{3}) \|", README, re.M))
    assert listed == {info.code for info in all_rules()}


def test_exactly_two_set_up_commands():
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", setup, re.S)
    assert commands == ["pip install . && iptlint check examples/docker-host.rules", "scripts/test"]
