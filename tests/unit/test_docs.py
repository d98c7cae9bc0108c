"""The docs cannot lie: the site builds strictly, and what the README and the pages show exists in the code.

The site is built once per test session (`mkdocs build --strict`, as `make docs` runs it): a broken link, an
anchor that does not exist or a page missing from nav fails it. The reference pages are generated from the
code (docs/gen_reference.py), so these tests check the generated HTML against the code's own registries.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.core.catalogue import CATALOGUE, spec_of

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOC_PAGES = sorted((ROOT / "docs").rglob("*.md"))
# Pages a reader starts from: every command they show must exist.
COMMAND_PAGES = (README, ROOT / "docs" / "getting-started.md")
QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


def _gen_reference():
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, **QUIET_MKDOCS})
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_the_site_builds_strictly_with_every_generated_reference(site):
    for page in ("reference/settings", "reference/cli", "reference/checks", "reference/dags", "reference/api",
                 "benchmarks", "changelog", "concepts/architecture"):
        assert (site / page / "index.html").is_file(), page
    api = (site / "reference" / "api" / "index.html").read_text()
    assert "A run passes with no FAIL" in html.unescape(api)  # verdict's docstring, rendered from the code
    architecture = (site / "concepts" / "architecture" / "index.html").read_text()
    assert "Rules that live in one place" in architecture  # ARCHITECTURE.md included, not repeated


def test_a_broken_link_fails_the_strict_build(tmp_path):
    broken = tmp_path / "docs"
    subprocess.run(["cp", "-r", str(ROOT / "docs"), str(broken)], check=True)
    (broken / "guides" / "suites.md").write_text("# Suites\n\nSee [nowhere](../no-such-page.md).\n")
    config = (ROOT / "mkdocs.yml").read_text().replace("docs_dir: docs", f"docs_dir: {broken}")
    (tmp_path / "mkdocs.yml").write_text(config.replace("- docs/gen_reference.py", f"- {broken}/gen_reference.py"))
    result = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "-f",
                             str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, **QUIET_MKDOCS})
    assert result.returncode != 0 and "no-such-page.md" in result.stderr


def test_the_settings_page_lists_exactly_the_fields_of_settings(site):
    import dataclasses

    from lakehouse.config import Settings

    page = html.unescape((site / "reference" / "settings" / "index.html").read_text())
    listed = set(re.findall(r"<code>(LAKEHOUSE_[A-Z0-9_]+)</code></td>", page))
    assert listed == {f.metadata["env"] for f in dataclasses.fields(Settings)}
    secrets = {f.metadata["env"] for f in dataclasses.fields(Settings) if f.metadata.get("secret")}
    assert secrets and all(re.search(rf"{name}</code></td>\s*<td>str</td>\s*<td><strong>secret", page)
                           for name in secrets)


def test_every_check_pattern_has_its_section_on_the_catalogue_page(site):
    page = html.unescape((site / "reference" / "checks" / "index.html").read_text())
    for spec in CATALOGUE:
        assert f'id="{spec.anchor}"' in page, spec.pattern
        assert spec.first_look.split("`")[0][:30] in page


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.M))
    targets |= set(re.search(r"^BENCHMARKS := (.+)$", text, flags=re.M).group(1).split())
    return targets


def _shown_commands(path: Path) -> list[list[str]]:
    """Every `make …` and `lakehouse …` command line in the page's code blocks and inline code."""
    text = path.read_text()
    chunks = re.findall(r"```(?:bash|sh)?\n(.*?)```", text, flags=re.S) + re.findall(r"`([^`\n]+)`", text)
    lines = []
    for chunk in chunks:
        for line in chunk.splitlines():
            line = line.split(" #")[0].strip().removeprefix("$ ")
            line = re.sub(r'^eval "\$\((.*)\)"$', r"\1", line)
            if re.match(r"(make |(\.venv/bin/)?lakehouse )", line):
                lines.append(shlex.split(line.replace("$EDITOR", "editor")))
    return lines


@pytest.mark.parametrize("page", COMMAND_PAGES, ids=lambda p: p.name)
def test_every_command_a_reader_is_shown_exists(page):
    from lakehouse.cli import build_parser

    commands, targets = set(_gen_reference().command_lines()), _makefile_targets()
    shown = _shown_commands(page)
    assert shown, page
    for argv in shown:
        if argv[0] == "make":
            assert all(word in targets for word in argv[1:] if "=" not in word), argv
            continue
        words = [w for w in argv[1:]]
        command = next((c for c in sorted(commands, key=len, reverse=True)
                        if ["lakehouse", *words][:len(c.split())] == c.split()), None)
        assert command, f"{' '.join(argv)}: no such lakehouse command"
        if command != "lakehouse kcat":  # kcat's arguments are kcat's own
            build_parser().parse_args([*command.split()[1:], *words[len(command.split()) - 1:]])


@pytest.mark.parametrize("page", [README, ROOT / "CHANGELOG.md", ROOT / "ARCHITECTURE.md"], ids=lambda p: p.name)
def test_every_relative_link_of_a_repository_page_exists(page):
    """The README is read on the repository's web page, outside the site: its links are files of the checkout."""
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text())
             if not link.startswith(("http://", "https://", "#", "mailto:"))]
    assert all((page.parent / link).exists() for link in links), [link for link in links if not (page.parent / link).exists()]


def test_the_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250
    for heading in ("## Two commands", "## See it work: `make demo`", "## Run it as a service: `make serve`",
                    "## Add a suite in five lines", "## Documentation"):
        assert heading in lines, heading


DATED = re.compile(r"\b20\d\d-\d\d-\d\d\b")
FIRST_PERSON = re.compile(r"\b(I|me|my|mine|we|our|us)\b(?![-.])")


@pytest.mark.parametrize("page", [README, *[p for p in DOC_PAGES if p.name != "gen_reference.py"]],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_dated_or_first_person_sentence(page):
    prose = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks may hold dates (run ids)
    prose = re.sub(r"`[^`]*`", "", prose)
    assert not DATED.findall(prose), f"{page}: dates belong in CHANGELOG.md and the benchmark JSON"
    assert not FIRST_PERSON.findall(prose), f"{page}: {FIRST_PERSON.findall(prose)}"


def test_the_catalogue_matches_each_family_and_nothing_else():
    examples = {
        "suite.silver.kol_profiles": "suite.{table}",
        "suite.silver.kol_profiles.expect_column_values_to_not_be_null.username": "suite.{table}.{rule}",
        "suite.gold.kol_summary.increment.expect_column_values_to_be_between.final_score.2":
            "suite.{table}.increment.{rule}",
        "diff.gold.kol_summary": "diff.{table}",
        "diff.gold.kol_summary.final_score_moved": "diff.gold.kol_summary.final_score_moved",
        "metrics.silver.quarantine.increment": "metrics.{table}.increment",
        "maintenance.expire_snapshots.bronze.kol_profiles_raw": "maintenance.{action}.{table}",
        "maintenance.prune.check_history": "maintenance.prune.{action}",
        "redis_vs_gold.tiktok.list": "redis_vs_gold.{platform}.{kind}",
        "redis_vs_gold.youtube.profiles": "redis_vs_gold.{platform}.{kind}",
        "bronze_vs_kafka_offsets.kol_videos_raw": "bronze_vs_kafka_offsets.{bronze}",
        "health.consumer_lag.kol-comments-raw": "health.consumer_lag.{topic}",
    }
    for check_id, pattern in examples.items():
        assert spec_of(check_id).pattern == pattern, check_id
    for unknown in ("accounting.users", "redis_vs_gold.instagram.list", "suite", "volume", "health.nope"):
        assert spec_of(unknown) is None, unknown
