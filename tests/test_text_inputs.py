"""Text that is not text: the planners' words are printed, stored and refused as words.

Dollar signs are not mathematics in a print layout.
"""

from __future__ import annotations

import pypdf
import pytest

from geo.access.coverage import accessibility
from geo.access.coverage_tables import coverage_table, gap_cells, standard_check
from geo.maps import content as maps
from geo.maps import layout, report

AUTHOR = r"$\undefinedcommand{张三}$"  # mathtext cannot parse it: the render failed
ORGANISATION = "收费 $5-$10 的 $x^2$ 局"  # mathtext would typeset it silently


@pytest.fixture(scope="module")
def demo(demo_project):
    project = demo_project
    acc = accessibility(project.network.cost_graph("walk"), project.demand, project.facilities)
    return project, acc


def _text(demo):
    _, acc = demo
    return maps.coverage_text(
        acc, "medical", project_name="项目 $A$", author=AUTHOR, organisation=ORGANISATION, approval_no="$1$"
    )


def _words(path) -> str:
    return pypdf.PdfReader(path).pages[0].extract_text().replace(" ", "")


def test_dollars_in_a_layout_are_printed_as_written(demo, tmp_path):
    project, acc = demo
    content = maps.coverage_content(acc, "medical", network=project.network, gaps=gap_cells(acc, "medical"))
    path = layout.render_layout(content, tmp_path / "覆盖.pdf", text=_text(demo))
    words = _words(path)
    for expected in (AUTHOR, ORGANISATION, "$1$"):
        assert expected.replace(" ", "") in words
    info = pypdf.PdfReader(path).metadata
    assert info.author == AUTHOR and "$A$" in info.subject
    png = layout.render_layout(content, tmp_path / "覆盖.png", text=_text(demo))
    assert png.stat().st_size > 10_000


def test_dollars_in_a_report_are_printed_as_written(demo, tmp_path):
    _, acc = demo
    table = coverage_table(acc)
    path = report.summary_report(table, standard_check(acc), tmp_path / "报告.pdf", text=_text(demo))
    words = _words(path)
    assert AUTHOR.replace(" ", "") in words and ORGANISATION.replace(" ", "") in words
