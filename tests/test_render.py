"""The renderer: qmd parsing, argument builders, the Quarto-less path, atomic publication."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from pypdf import PdfReader

from pipeline.reports.render import (
    parameter_source, parse_qmd, publish, quarto_args, render_document, render_without_quarto,
)
from pipeline.settings import REPORTS_DIR

QMD = """---
title: "Essai"
subtitle: "sous-titre"
epci-name: "EPCI"
format:
  typst:
    template-partials: [typst-template.typ, typst-show.typ]
---

```{python}
#| tags: [parameters]
annee = 1999
```

Texte fixe.

```{python}
#| output: asis
print(f"Année **{annee}** injectée.")
```

```{python}
import matplotlib.pyplot as plt
plt.figure(figsize=(2, 2)); plt.plot([0, 1]); plt.show()
```
"""


def test_parse_qmd_splits_front_matter_markdown_and_cells():
    doc = parse_qmd(QMD)
    assert doc.front_matter["title"] == "Essai"
    assert len(doc.cells) == 3
    assert doc.cells[0].options == {"tags": ["parameters"]}
    assert doc.cells[1].options == {"output": "asis"}
    assert "#|" not in doc.cells[1].source
    assert any("Texte fixe." in p for p in doc.parts if isinstance(p, str))


def test_argument_builders():
    assert parameter_source({"annee": 2021, "warehouse": "/x/y.duckdb"}) == "annee = 2021\nwarehouse = '/x/y.duckdb'"
    args = quarto_args(REPORTS_DIR / "atlas" / "atlas.qmd", "atlas.pdf", {"annee": 2021}, {"demo": True, "run-id": "r1"})
    assert args[:6] == ["quarto", "render", "atlas.qmd", "--to", "typst", "--output"]
    assert ["-P", "annee:2021"] == args[7:9]
    assert "-M" in args and "demo:true" in args and "run-id:r1" in args


def test_render_without_quarto_runs_cells_and_uses_the_partials(tmp_path):
    build = tmp_path / "build"
    shutil.copytree(REPORTS_DIR / "atlas", build, ignore=shutil.ignore_patterns("*.qmd"))
    (build / "essai.qmd").write_text(QMD, encoding="utf-8")
    metadata = {"millesime": 2030, "sources": "RPLS 2030", "run-id": "run-essai", "run-court": "run-essa",
                "code-version": "abc", "build-date": "01/01/2030", "demo": True}
    pdf = render_without_quarto(build / "essai.qmd", build / "essai.pdf", {"annee": 2030}, metadata)
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    text = re.sub(r"\s+", " ", text)
    assert "Année 2030 injectée." in text  # the injected parameter wins over the default 1999
    assert "DONNÉES FICTIVES" in text and "run-essai" in text
    assert list((build / "figures").glob("*.png")), "the plot became a figure file"
    # the HTML twin: the same text, the stamp, the figure embedded
    html = (build / "essai.html").read_text(encoding="utf-8")
    assert "Année <strong>2030</strong> injectée." in html and "DONNÉES FICTIVES — démonstration" in html
    assert "run-essai" in html and "data:image/png;base64" in html


def test_a_failing_cell_is_a_render_error(tmp_path):
    from pipeline.reports.render import RenderError

    source = tmp_path / "doc"
    shutil.copytree(REPORTS_DIR / "atlas", source, ignore=shutil.ignore_patterns("*.qmd"))
    (source / "essai.qmd").write_text(QMD.replace('print(f"Année', 'raise ValueError("boum"); print(f"Année'))
    with pytest.raises(RenderError, match="boum"):
        render_document(source, "essai.qmd", tmp_path / "build", {"annee": 1}, {}, use_quarto=False)


ETAT_DU_NOYAU = """---
title: "Noyau"
format:
  typst:
    template-partials: [typst-template.typ, typst-show.typ]
---

```{python}
#| output: asis
import os, sys
print(f"dossier {os.getcwd()} ; pyplot {'matplotlib.pyplot' in sys.modules} ; annee {'annee' in dir()}")
```
"""


def test_a_kernel_started_ahead_is_taken_by_the_next_render_which_runs_in_the_build_folder(tmp_path, monkeypatch):
    """prechauffer starts the document's kernel and imports (plus pyplot) before the render; the render
    takes it — its cells run in the build folder, from a namespace with nothing of the document in
    it — and stops it after; a second render has none ahead and starts its own, as before."""
    from pipeline.reports import render

    source = tmp_path / "doc"
    shutil.copytree(REPORTS_DIR / "atlas", source, ignore=shutil.ignore_patterns("*.qmd"))
    (source / "noyau.qmd").write_text(ETAT_DU_NOYAU, encoding="utf-8")
    assert render.imports_du_document(parse_qmd(ETAT_DU_NOYAU)) == "import os, sys\nimport matplotlib.pyplot"
    monkeypatch.setattr(render, "_NOYAUX", {})

    def rendu(build) -> str:
        render_document(source, "noyau.qmd", build, {}, {}, use_quarto=False)
        return re.search(r"dossier .*", (build / "noyau.md").read_text(encoding="utf-8")).group(0)

    render.prechauffer(source, "noyau.qmd")
    noyau = next(iter(render._NOYAUX.values())).result(timeout=120).manager
    assert noyau.is_alive()
    assert rendu(tmp_path / "b1") == f"dossier {tmp_path / 'b1'} ; pyplot True ; annee False"
    assert not noyau.is_alive() and render._NOYAUX == {}
    # without a kernel ahead: a new one, which has not imported pyplot
    assert rendu(tmp_path / "b2") == f"dossier {tmp_path / 'b2'} ; pyplot False ; annee False"

    # a kernel ahead that died before the render: a new one, as without it
    render.prechauffer(source, "noyau.qmd")
    mort = next(iter(render._NOYAUX.values())).result(timeout=120)
    mort.manager.shutdown_kernel(now=True)
    assert rendu(tmp_path / "b3") == f"dossier {tmp_path / 'b3'} ; pyplot False ; annee False"
    assert not mort.sockets.exists()

    # one no render took (a run that failed before its atlas): stopped at exit, its sockets removed
    render.prechauffer(source, "noyau.qmd")
    reste = next(iter(render._NOYAUX.values())).result(timeout=120)
    render._arreter_les_noyaux_restes()
    assert not reste.manager.is_alive() and not reste.sockets.exists() and render._NOYAUX == {}


def test_a_kernel_that_could_not_start_ahead_leaves_the_render_as_it_was(tmp_path, monkeypatch):
    """A failure of the kernel ahead (here: an import that fails) is not the render's: it starts its
    own kernel, and a failing cell is still said as the document's."""
    from pipeline.reports import render

    source = tmp_path / "doc"
    shutil.copytree(REPORTS_DIR / "atlas", source, ignore=shutil.ignore_patterns("*.qmd"))
    (source / "essai.qmd").write_text(QMD, encoding="utf-8")
    monkeypatch.setattr(render, "IMPORTS_DES_FIGURES", "import module_qui_n_existe_pas")
    monkeypatch.setattr(render, "_NOYAUX", {})
    render.prechauffer(source, "essai.qmd")
    with pytest.raises(render.RenderError):
        next(iter(render._NOYAUX.values())).result(timeout=120)
    pdf = render_document(source, "essai.qmd", tmp_path / "build", {"annee": 2031}, {}, use_quarto=False)
    assert "Année 2031 injectée." in re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(pdf).pages))
    assert render._NOYAUX == {}


def test_publish_archives_the_previous_file(tmp_path):
    target = tmp_path / "out" / "atlas.pdf"
    first = tmp_path / "a.pdf"
    first.write_bytes(b"premier")
    publish(first, target)
    second = tmp_path / "b.pdf"
    second.write_bytes(b"second")
    time.sleep(0.01)
    publish(second, target)
    assert target.read_bytes() == b"second"
    archived = list((target.parent / "archives").glob("atlas_*.pdf"))
    assert [p.read_bytes() for p in archived] == [b"premier"]
    assert not list(target.parent.glob(".*.tmp"))
