"""Render a Quarto document (``format: typst``) to PDF, with Quarto or with the project's own renderer.

Quarto cannot be installed from the package registries these machines reach, so where ``quarto``
is not on PATH this module does what Quarto does for our documents, from the same ``.qmd`` and the
same Typst template partials:

1. parse the ``.qmd`` (front matter, markdown, ``{python}`` cells with their ``#|`` options);
2. run the cells in a Jupyter kernel, with the parameters injected after the cell tagged
   ``parameters`` (as Quarto/papermill do);
3. turn the outputs into markdown (``output: asis`` prints raw markdown; images become figures);
4. pandoc (``pypandoc-binary``) writes Typst with ``pandoc-main.typ``, which includes the partials
   Quarto uses (``typst-template.typ``, ``typst-show.typ``);
5. the ``typst`` wheel compiles the PDF;
6. pandoc writes the HTML twin from the same markdown (images embedded, the stamp on top, the
   document's ``.css``), as ``quarto render --to html`` does.

Supported cell options: ``echo`` (only false), ``output`` (``asis``, false), ``tags``.

The kernel may be started ahead (:func:`prechauffer`): a process of its own, on the machine's other
core, while the run still builds what the document reads; it imports what the document's cells import
(and matplotlib's pyplot, which draws every figure) and waits. The next render of that document in
this process takes it (≈ 1–1.5 s: starting Python and the kernel, importing pandas and matplotlib);
the cells run in it as they would in a new kernel — in the build folder, from the first cell.
"""

from __future__ import annotations

import ast
import atexit
import base64
import os
import re
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.publication.archives import chemin_archive

CELL_RE = re.compile(r"^```\{python\}[^\n]*\n(?P<source>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FRONT_MATTER_RE = re.compile(r"\A---\n(?P<yaml>.*?)\n---\n", re.DOTALL)
MAIN_TEMPLATE = "pandoc-main.typ"


class RenderError(Exception):
    """The document could not be rendered (the message says which cell or which tool failed)."""


@dataclass
class Cell:
    """A ``{python}`` cell: its code and its ``#|`` options."""

    source: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class QmdDocument:
    """A parsed ``.qmd``: front matter, then markdown strings and cells in order."""

    front_matter: dict[str, Any]
    front_matter_text: str
    parts: list[str | Cell]

    @property
    def cells(self) -> list[Cell]:
        return [p for p in self.parts if isinstance(p, Cell)]


def parse_qmd(text: str) -> QmdDocument:
    """Split a ``.qmd`` into front matter, markdown and cells."""
    match = FRONT_MATTER_RE.match(text)
    front_text = match.group("yaml") if match else ""
    body = text[match.end():] if match else text
    parts: list[str | Cell] = []
    position = 0
    for cell in CELL_RE.finditer(body):
        parts.append(body[position:cell.start()])
        lines = cell.group("source").splitlines()
        option_lines = [ln[3:] for ln in lines if ln.startswith("#| ")]
        code = "\n".join(ln for ln in lines if not ln.startswith("#| "))
        options = yaml.safe_load("\n".join(option_lines)) if option_lines else {}
        parts.append(Cell(code, options or {}))
        position = cell.end()
    parts.append(body[position:])
    return QmdDocument(yaml.safe_load(front_text) or {}, front_text, parts)


def parameter_source(params: dict[str, Any]) -> str:
    """The code of the injected parameters cell (``name = repr(value)`` lines)."""
    return "\n".join(f"{name} = {value!r}" for name, value in params.items())


def metadata_args(metadata: dict[str, Any], flag: str) -> list[str]:
    """Metadata overrides as command-line arguments (``-M key:value`` for Quarto, ``--metadata=``)."""
    args = []
    for key, value in metadata.items():
        text = "true" if value is True else "false" if value is False else str(value)
        args += [flag, f"{key}:{text}"] if flag == "-M" else [f"{flag}={key}:{text}"]
    return args


def quarto_args(qmd: Path, output_name: str, params: dict[str, Any], metadata: dict[str, Any],
                format_: str = "typst") -> list[str]:
    """The ``quarto render`` command for a document, to ``format_`` (typst: the PDF; html: its twin)."""
    args = ["quarto", "render", qmd.name, "--to", format_, "--output", output_name]
    for name, value in params.items():
        args += ["-P", f"{name}:{value}"]
    return args + metadata_args(metadata, "-M")


#: What a kernel started ahead imports besides the document's own imports: the figures' library.
IMPORTS_DES_FIGURES = "import matplotlib.pyplot"


def imports_du_document(document: QmdDocument) -> str:
    """The ``import`` statements at the top level of the document's cells, in order (what a kernel
    started ahead runs before the document is there), then :data:`IMPORTS_DES_FIGURES`."""
    lignes = []
    for cell in document.cells:
        try:
            arbre = ast.parse(cell.source)
        except SyntaxError:
            continue  # said by the render itself, with the cell
        lignes += [ast.unparse(n) for n in arbre.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys([*lignes, IMPORTS_DES_FIGURES]))


@dataclass
class _NoyauChaud:
    """A kernel started ahead: its manager, the folder of its sockets."""

    manager: Any
    sockets: Path

    def arreter(self) -> None:
        try:
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
        finally:
            shutil.rmtree(self.sockets, ignore_errors=True)


#: The kernels started ahead, by the imports they ran (one per document): taken by the next render.
_NOYAUX: dict[str, Future] = {}
_NOYAUX_VERROU = threading.Lock()


def _executer_dans(manager: Any, source: str, timeout: int) -> None:
    """Run ``source`` in the kernel of ``manager`` through a client of its own; raise if it fails."""
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        reponse = client.execute_interactive(source, timeout=timeout, store_history=False, output_hook=lambda _: None)
        if reponse["content"].get("status") != "ok":
            raise RenderError(f"le noyau n'a pas pu exécuter : {source!r} "
                              f"({reponse['content'].get('ename')}: {reponse['content'].get('evalue')})")
    finally:
        client.stop_channels()


def prechauffer(source_dir: Path, qmd_name: str, timeout: int = 120) -> None:
    """Start the kernel of the next render of ``qmd_name`` in this process now, in a daemon thread: the
    kernel imports what the document's cells import (:func:`imports_du_document`) and waits for the
    render (:func:`_execute` takes it). A kernel already started for the same imports is kept; none
    when Quarto renders. A process that ends without rendering stops it at exit
    (:func:`_arreter_les_noyaux_restes`; and the kernel stops when it sees its parent gone)."""
    if shutil.which("quarto") is not None:
        return  # Quarto renders with kernels of its own (render_document)
    try:
        imports = imports_du_document(parse_qmd((source_dir / qmd_name).read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001 — an unreadable document: its render says why
        return
    with _NOYAUX_VERROU:
        if imports in _NOYAUX:
            return
        pret: Future = Future()
        _NOYAUX[imports] = pret

    def demarrer() -> None:
        pret.set_running_or_notify_cancel()
        noyau = None
        try:
            from jupyter_client import KernelManager

            # IPC sockets in a folder of their own (the build folder is emptied when the render starts)
            sockets = Path(tempfile.mkdtemp(prefix="observatoire_noyau_"))
            noyau = _NoyauChaud(KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "noyau")),
                                sockets)
            # as nbclient starts its kernels: no IPython history written to the user's home
            noyau.manager.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"])
            _executer_dans(noyau.manager, imports, timeout)
            pret.set_result(noyau)
        except BaseException as err:  # the render starts a kernel of its own then
            if noyau is not None:
                noyau.arreter()
            pret.set_exception(err)

    threading.Thread(target=demarrer, name="noyau-en-avance", daemon=True).start()


@atexit.register
def _arreter_les_noyaux_restes() -> None:
    """At exit, the kernels started ahead that no render took (a run that failed before its atlas):
    stopped, their sockets' folder removed (the kernel would stop anyway when it sees its parent gone;
    the folder would stay)."""
    with _NOYAUX_VERROU:
        restes = list(_NOYAUX.values())
        _NOYAUX.clear()
    for pret in restes:
        if pret.done() and pret.exception() is None:
            pret.result().arreter()


def _noyau_en_avance(document: QmdDocument) -> _NoyauChaud | None:
    """The kernel started ahead for this document's imports, once it is ready; None when there is none,
    or when it could not start (the render then starts one as before)."""
    with _NOYAUX_VERROU:
        pret = _NOYAUX.pop(imports_du_document(document), None)
    if pret is None:
        return None
    try:
        return pret.result()
    except Exception:  # noqa: BLE001 — a kernel that did not start ahead: a new one, which says why if it fails too
        return None


def _execute(document: QmdDocument, params: dict[str, Any], workdir: Path, timeout: int) -> list[list[dict]]:
    """Run the cells in a Jupyter kernel — the one started ahead for this document when there is one,
    moved to the build folder, else a new one started there; return each document cell's outputs."""
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.v4.new_notebook()
    index_of: list[int] = []  # notebook cell index of each document cell
    for cell in document.cells:
        notebook.cells.append(nbformat.v4.new_code_cell(cell.source))
        index_of.append(len(notebook.cells) - 1)
        if "parameters" in (cell.options.get("tags") or []):
            notebook.cells.append(nbformat.v4.new_code_cell(parameter_source(params)))
    noyau = _noyau_en_avance(document)
    if noyau is not None:
        try:
            _executer_dans(noyau.manager, f"import os as _os; _os.chdir({str(workdir)!r}); del _os", timeout)
        except Exception:  # noqa: BLE001 — a kernel ahead that died meanwhile: a new one, as without it
            noyau.arreter()
            noyau = None
    if noyau is not None:
        manager = noyau.manager
    else:
        # IPC sockets in the build folder: no TCP port, nothing listening beyond this process.
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(workdir / ".kernel"))
    client = NotebookClient(notebook, km=manager, timeout=timeout, resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except CellExecutionError as err:
        raise RenderError(f"une cellule du document a échoué :\n{err}") from err
    finally:
        if noyau is not None:
            noyau.arreter()
        elif manager.has_kernel:  # the client does not own a kernel it was given: stop it here
            manager.shutdown_kernel(now=True)
    return [notebook.cells[i].get("outputs", []) for i in index_of]


def _outputs_to_markdown(cell: Cell, outputs: list[dict], workdir: Path, number: int) -> str:
    """Markdown for one cell's outputs, as Quarto would place them."""
    if cell.options.get("output") is False:
        return ""
    asis = cell.options.get("output") == "asis"
    chunks = []
    for k, output in enumerate(outputs):
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") == "stdout":
            text = output.get("text", "")
            chunks.append(text if asis else f"```\n{text}```\n")
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            if "image/png" in data:
                path = workdir / "figures" / f"cellule-{number}-{k}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(data["image/png"]))
                caption = cell.options.get("fig-cap", "")
                chunks.append(f"![{caption}]({path.relative_to(workdir).as_posix()}){{width=100%}}\n")
            elif "text/markdown" in data:
                chunks.append(data["text/markdown"])
            elif "text/plain" in data and not asis:
                chunks.append(f"```\n{data['text/plain']}\n```\n")
    return "\n".join(chunks)


def render_without_quarto(qmd: Path, pdf: Path, params: dict[str, Any], metadata: dict[str, Any],
                          timeout: int = 900) -> Path:
    """The project's own renderer: kernel → pandoc (Typst) → typst. ``qmd`` is in its build folder."""
    import matplotlib
    import pypandoc
    import typst

    workdir = qmd.parent
    document = parse_qmd(qmd.read_text(encoding="utf-8"))
    outputs = _execute(document, params, workdir, timeout)
    pieces = [f"---\n{document.front_matter_text}\n---\n"]
    number = 0
    for part in document.parts:
        if isinstance(part, Cell):
            pieces.append(_outputs_to_markdown(part, outputs[number], workdir, number))
            number += 1
        else:
            pieces.append(part)
    markdown = "\n".join(pieces)
    (workdir / f"{qmd.stem}.md").write_text(markdown, encoding="utf-8")
    typ = workdir / f"{qmd.stem}.typ"
    # the HTML twin (a pandoc process of its own) is written while the PDF is: the machine's second core
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jumeau-html") as pool:
        jumeau = pool.submit(html_twin, markdown, pdf.with_suffix(".html"), metadata, workdir)
        try:
            pypandoc.convert_text(
                markdown, "typst", format="markdown", outputfile=str(typ),
                extra_args=["--standalone", f"--template={workdir / MAIN_TEMPLATE}",
                            *metadata_args(metadata, "--metadata")],
            )
        except RuntimeError as err:
            raise RenderError(f"pandoc n'a pas pu convertir {qmd.name} en Typst : {err}") from err
        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu Sans, the same on every machine
        try:
            typst.compile(str(typ), output=str(pdf), root=str(workdir), font_paths=[str(fonts)])
        except Exception as err:  # typst.TypstError and friends
            raise RenderError(f"typst n'a pas pu compiler {typ.name} : {err}") from err
        jumeau.result()
    return pdf


def stamp_html(metadata: dict[str, Any]) -> str:
    """The stamp of the HTML twin (what the PDF's cover and footer say)."""
    import html

    mentions = []
    if metadata.get("interne"):
        mentions.append("DIFFUSION INTERNE — secret statistique levé, ne pas diffuser")
    if metadata.get("demo"):
        mentions.append("DONNÉES FICTIVES — démonstration")
    lignes = [f'<p class="mention">{html.escape(m)}</p>' for m in mentions]
    details = " · ".join(html.escape(str(metadata[k])) for k in ("millesime", "sources", "run-id", "code-version",
                                                                 "build-date") if metadata.get(k) not in (None, ""))
    return "\n".join([*lignes, f"<p><small>{details}</small></p>"]) + "\n"


def html_twin(markdown: str, html: Path, metadata: dict[str, Any], workdir: Path) -> Path:
    """The HTML twin of the document: the same markdown (so the same figures) through pandoc's HTML
    writer, images embedded, the stamp on top. Raw Typst passages are dropped, raw HTML ones kept."""
    import pypandoc

    avant = workdir / "stamp.html"
    avant.write_text(stamp_html(metadata), encoding="utf-8")
    arguments = ["--standalone", "--embed-resources", "--toc", "--toc-depth=2", f"--include-before-body={avant}",
                 f"--resource-path={workdir}"]
    css = next(iter(sorted(workdir.glob("*.css"))), None)
    if css is not None:
        arguments.append(f"--css={css}")
    try:
        pypandoc.convert_text(markdown, "html5", format="markdown", outputfile=str(html),
                              extra_args=arguments + metadata_args(
                                  {k: v for k, v in metadata.items() if k in ("millesime",)}, "--metadata"))
    except RuntimeError as err:
        raise RenderError(f"pandoc n'a pas pu écrire le jumeau HTML de {html.stem} : {err}") from err
    return html


def render_document(source_dir: Path, qmd_name: str, build_dir: Path, params: dict[str, Any],
                    metadata: dict[str, Any], use_quarto: bool | None = None, partages: tuple[Path, ...] = ()) -> Path:
    """Copy the document folder into ``build_dir`` and render it there; return the built PDF.

    ``use_quarto``: None = Quarto when it is on PATH, else the project's renderer. ``partages``: files
    of another document copied beside it (the dashboard takes the atlas's page design and stamp).
    """
    if build_dir.exists():
        shutil.rmtree(build_dir)
    shutil.copytree(source_dir, build_dir, ignore=shutil.ignore_patterns("*.pdf", "figures", "_freeze"))
    for fichier in partages:
        shutil.copy2(fichier, build_dir / fichier.name)
    qmd = build_dir / qmd_name
    pdf = build_dir / f"{qmd.stem}.pdf"
    if use_quarto is None:
        use_quarto = shutil.which("quarto") is not None
    if use_quarto:
        for sortie, format_ in ((pdf, "typst"), (pdf.with_suffix(".html"), "html")):
            result = subprocess.run(quarto_args(qmd, sortie.name, params, metadata, format_), cwd=build_dir,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise RenderError(f"quarto render a échoué ({result.returncode}) :\n{result.stderr[-4000:]}")
        return pdf
    return render_without_quarto(qmd, pdf, params, metadata)


def publish(built: Path, target: Path) -> Path:
    """Publish ``built`` as ``target`` atomically; a previous ``target`` is archived first, not overwritten."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.copy2(target, chemin_archive(target))
    temporary = target.with_name(f".{target.name}.tmp")
    shutil.copy2(built, temporary)
    os.replace(temporary, target)
    return target
