"""README's quick start and .ci/run stay in step; pins stay as required."""

from __future__ import annotations

import re

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick)


def test_readme_has_exactly_two_quick_start_commands():
    cmds = readme_commands()
    assert len(cmds) == 2
    assert "streamlit run dashboard/app.py" in cmds[0]
    assert "pytest" in cmds[1] and "ruff check" in cmds[1]


def test_ci_runs_readme_test_command_verbatim_with_browser_required():
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci
    assert "REQUIRE_BROWSER=1" in ci and "apt-get install -y" in ci and "chromium" in ci


def test_torch_pins():
    reqs = (ROOT / "requirements.txt").read_text().split()
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert "==" in line, f"unpinned requirement: {line}"
