r"""Full-page screenshots of every page of the built book, an audit of what a reader would
meet, and a manifest of what was photographed.

Headless Chromium (Debian's ``chromium``) driven through the DevTools protocol (websocket-client,
installed with the ``dev`` extra), pages served from 127.0.0.1. The pages are those of
``_toc.yml`` (root first), as ``_build/html`` has them after ``make html``.

    python docs/screenshots/take.py [--width 1280] [--html _build/html] [--out docs/screenshots]
                                    [page ...]

The audit, page by page (collapsed cells opened for the cut-off and machine-path checks):

- cut off: a code block, output or table wider than its column (it scrolls sideways);
- "NaN" as a word in the text;
- a machine path in the text (``/work/...``, ``/home/...``, ``/tmp/...``, ``/root/...``,
  ``/Users/...``, ``C:\...``, a ``file:`` URL; a web URL is not one): the data line names the
  file and its fingerprint, never where it lies on the machine that ran the chapter;
- too tall: a page above MAX_HEIGHT pixels at the default width of 1280 (see MAX_HEIGHT for why;
  at another width the height is reported, not judged).

It also reports how many characters a code line may hold (the fewest over the page's code cells).
Exit status 1 when a page has any of these (the audit is printed either way).

The manifest (``manifest.json`` beside the PNGs) records, for each page photographed, the sha256
of its source in ``book/`` (the ``.ipynb`` or ``.md``; a notebook hashed without papermill's
timestamps, durations and temporary paths, and without cell ids, so that re-executing an
unchanged chapter leaves its hash alone), the page's height and the audit's result.
``tests/test_screenshots_current.py`` recomputes the hashes and names the pages whose screenshot
is stale. To retake them all: ``make html && bash docs/screenshots/take.sh`` (shooting only some
pages updates their entries and keeps the others').
"""
from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import http.server
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WIDTH = 1280
# The tallest page a reader is asked to scroll through, at the default width of 1280 pixels.
# 12,000 pixels is about 15 screens of a laptop's browser window (some 800 pixels of page each):
# some 2,500 words of prose with six to eight figures or tables, what a reader takes in at one
# sitting of a quarter of an hour or so. A taller page is no longer read but searched: it holds
# a listing (per-seed or per-candidate rows, long outputs) that belongs in the appendix or
# behind a toggle, or it is two chapters.
MAX_HEIGHT = 12_000
MANIFEST = "manifest.json"
CAPTURES = 6  # at most, per page

# A path on the machine that executed or built the book. The prefix may not follow a name, a
# dot or a slash, so that a web URL's path (https://host/home/...) is not one; a file: URL is,
# and so is a path after a colon (imagefolder-tarball:/work/...).
MACHINE_PATH = re.compile(r"""
      file:///\S+
    | (?<![\w.~/-])/(?:work|home|tmp|root|Users|mnt|opt|srv|var|usr|private|scratch)\b
      (?:/[^\s'"`<>()\[\],;]*)?
    | (?<![\w])[A-Za-z]:\\[^\s'"`<>]*
""", re.VERBOSE)

# What is wider than its box: code blocks and outputs that scroll sideways (collapsed cells
# included), tables whose container scrolls, and "NaN" as a word anywhere in the article's text;
# the article's text with its collapsed cells open, for the machine paths (MACHINE_PATH).
AUDIT = r"""
(() => {
  const article = document.querySelector("article") || document.body;
  // collapsed cells (hide-input, hide-cell) are opened for the check and closed again
  const closed = [...article.querySelectorAll("details:not([open])")];
  closed.forEach(d => { d.open = true; });
  const cut = [];
  for (const el of article.querySelectorAll("pre, table")) {
    const box = el.closest(".highlight, .output, .table-wrapper, "
                           + ".pst-scrollable-table-container") || el;
    for (const node of [el, box]) {
      if (node.scrollWidth > node.clientWidth + 1) {
        const text = (el.innerText || "").split("\n")
          .reduce((a, b) => (b.length > a.length ? b : a), "");
        cut.push({tag: el.tagName.toLowerCase(), over: node.scrollWidth - node.clientWidth,
                  width: node.clientWidth, collapsed: closed.some(d => d.contains(el)),
                  line: text.slice(0, 110)});
        break;
      }
    }
  }
  // how many characters of code fit on a line of a code cell (the fewest over every cell:
  // a collapsed cell's box is narrower than an open one's)
  let fits = null;
  for (const code of article.querySelectorAll(".cell_input pre")) {
    const probe = document.createElement("span");
    probe.textContent = "x".repeat(100);
    code.appendChild(probe);
    const style = getComputedStyle(code);
    const inner = code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const n = Math.floor(inner / (probe.getBoundingClientRect().width / 100));
    probe.remove();
    fits = fits === null ? n : Math.min(fits, n);
  }
  const text = article.innerText;
  closed.forEach(d => { d.open = false; });
  const nan = (article.innerText.match(/[^\n]{0,50}\bNaN\b[^\n]{0,30}/g) || []);
  return JSON.stringify({cut, nan, fits, text, height: document.documentElement.scrollHeight,
                         content: article.clientWidth});
})()
"""


# The layout at the current window size, after two frames, scrolled to the top: the width
# the page gets (less a vertical scroll bar), its height and where the article starts.
LAYOUT = r"""
new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
  window.scrollTo(0, 0);
  const article = document.querySelector("article") || document.body;
  const box = article.getBoundingClientRect();
  done(JSON.stringify({width: document.documentElement.clientWidth,
                       height: document.documentElement.scrollHeight,
                       left: Math.round(box.left), top: Math.round(box.top)}));
})))
"""

def machine_paths(text: str) -> list[str]:
    """Each machine path in ``text`` with a little of its line around it."""
    found = []
    for line in text.splitlines():
        for match in MACHINE_PATH.finditer(line):
            start, end = max(0, match.start() - 40), min(len(line), match.end() + 30)
            found.append(line[start:end].strip())
    return found


def source_of(page: str, root: Path = ROOT) -> Path:
    """The file a page of _toc.yml is rendered from (``book/01_data`` -> book/01_data.ipynb)."""
    for suffix in (".ipynb", ".md"):
        path = root / f"{page}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"{page}: no {page}.ipynb or {page}.md")


# papermill's record of one execution, in the notebook's and each cell's metadata
VOLATILE = ("duration", "start_time", "end_time", "input_path", "output_path")


def _joined(value):
    return "".join(value) if isinstance(value, list) else value


def normalised_notebook(nb: dict) -> dict:
    """A notebook without what changes when an unchanged chapter is executed again: papermill's
    timestamps, durations and temporary paths, the kernel's execution timestamps and the cell
    ids (jupytext makes new ones at each conversion); multi-line strings joined, however the
    writer split them."""
    nb = copy.deepcopy(nb)
    papermill = nb.get("metadata", {}).get("papermill", {})
    for key in VOLATILE:
        papermill.pop(key, None)
    for cell in nb.get("cells", []):
        cell.pop("id", None)
        cell["source"] = _joined(cell.get("source", ""))
        metadata = cell.get("metadata", {})
        metadata.pop("execution", None)
        for key in VOLATILE:
            metadata.get("papermill", {}).pop(key, None)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _joined(output["text"])
            for mime, value in output.get("data", {}).items():
                output["data"][mime] = _joined(value)
    return nb


def source_hash(path: Path) -> str:
    """sha256 of a page's source: a notebook normalised (:func:`normalised_notebook`), any
    other file as it is."""
    if path.suffix == ".ipynb":
        nb = normalised_notebook(json.loads(path.read_text(encoding="utf-8")))
        data = json.dumps(nb, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(data.encode("utf-8")).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problems(audit: dict, width: int) -> list[str]:
    """What the audit found on one page, one short phrase each (empty: the page passes)."""
    found = []
    if width == DEFAULT_WIDTH and audit["height"] > MAX_HEIGHT:
        found.append(f"{audit['height']:,} px tall (limit {MAX_HEIGHT:,})")
    for key, one, many in (("cut", "block cut off", "blocks cut off"), ("nan", "NaN", "NaNs"),
                           ("paths", "machine path", "machine paths")):
        if audit[key]:
            n = len(audit[key])
            found.append(f"{n} {one if n == 1 else many}")
    return found


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pages_of_toc(toc: Path) -> list[str]:
    """The pages of a jb-book _toc.yml, root first, in reading order."""
    spec = yaml.safe_load(toc.read_text())
    pages = [spec["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in spec.get("parts", []):
        walk(part.get("chapters"))
    walk(spec.get("chapters"))
    return pages


class Tab:
    """One Chromium page over the DevTools protocol."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client, installed with the dev extra (jupyter_server)

        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, event: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("method") == event:
                return message
        raise TimeoutError(event)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        return result["result"].get("value")


def start_chromium(profile: str) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser") \
        or shutil.which("google-chrome")
    if binary is None:
        sys.exit("no chromium: apt-get install -y chromium fonts-dejavu-core")
    proc = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=(Path(profile) / "chromium.log").open("w"))
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().split()[0])
        if proc.poll() is not None:
            sys.exit(f"chromium exited: {(Path(profile) / 'chromium.log').read_text()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    sys.exit("chromium did not open its DevTools port in 60 s")


def shoot(tab: Tab, url: str, width: int, out: Path) -> dict:
    tab.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
             deviceScaleFactor=1, mobile=False)
    tab.call("Page.navigate", url=url)
    tab.wait_for("Page.loadEventFired")
    tab.evaluate("document.fonts.ready.then(() => true)")
    time.sleep(0.5)  # MathJax and the theme's late layout
    audit = json.loads(tab.evaluate(AUDIT))
    audit["paths"] = machine_paths(audit.pop("text"))
    # The viewport as tall as the page (as puppeteer's fullPage does), once the layout has
    # settled at that size (the same twice in a row, scrolled to the top).
    height, previous = int(audit["height"]), None
    for _ in range(40):
        tab.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=1, mobile=False)
        time.sleep(0.25)
        layout = json.loads(tab.evaluate(LAYOUT))
        if layout == previous and layout["height"] == height:
            break
        previous, height = layout, layout["height"]
    else:
        print(f"  warning: the layout of {url} did not settle at {width} px; captured as it was")
    audit["height"] = height
    # Captures of the viewport (already the whole page; captureBeyondViewport, which resizes it
    # again, gave pages with a sidebar missing or the column shifted sideways on a busy machine)
    # until two in a row are the same.
    previous = None
    for _ in range(CAPTURES):
        shot = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=False,
                        clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        if shot["data"] == previous:
            break
        previous = shot["data"]
        time.sleep(0.5)
    else:
        print(f"  warning: {CAPTURES} captures of {url}, no two in a row the same; the last kept")
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    # 64 colours: text, code highlighting and plots stay legible, the files about a third of
    # the size of full-colour ones (chapter 9: 500 KiB against 1.6 MiB).
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
        .save(out, optimize=True)
    return audit


def write_manifest(path: Path, entries: dict, width: int) -> None:
    """Record the pages just photographed in ``path``; the other pages of _toc.yml it names
    keep their entries (none when the width changed: the manifest describes one width), in
    _toc.yml's order."""
    manifest = {}
    if path.exists():
        manifest = json.loads(path.read_text())
    kept = manifest.get("pages", {}) if manifest.get("width") == width else {}
    kept.update(entries)
    order = pages_of_toc(ROOT / "_toc.yml")
    pages = {page: kept[page] for page in order if page in kept}
    pages.update({page: entry for page, entry in entries.items() if page not in pages})
    manifest = {
        "about": "what docs/screenshots/take.py photographed: each page's source in book/ "
                 "(sha256, notebooks normalised: take.source_hash), height and audit; "
                 "tests/test_screenshots_current.py compares the hashes with book/",
        "width": width, "max_height": MAX_HEIGHT, "pages": pages,
    }
    path.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="pages (e.g. book/09_beyond_sweep); all if none")
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH,
                        help="window width in CSS pixels")
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html",
                        help="the built book's html folder (default: _build/html)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots",
                        help="where the PNGs and manifest.json go (default: docs/screenshots)")
    args = parser.parse_args(argv)
    pages = args.pages or pages_of_toc(ROOT / "_toc.yml")
    missing = [p for p in pages if not (args.html / f"{p}.html").exists()]
    if missing:
        sys.exit(f"not built: {', '.join(missing)} (run make html first)")
    sources = {page: source_of(page) for page in pages}
    older = [p for p in pages
             if (args.html / f"{p}.html").stat().st_mtime < sources[p].stat().st_mtime]
    if older:
        print(f"warning: built before their source changed: {', '.join(older)} "
              "(run make html first)")
    args.out.mkdir(parents=True, exist_ok=True)

    handler = functools.partial(Quiet, directory=str(args.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    entries, counts = {}, {"tall": 0, "cut": 0, "nan": 0, "paths": 0}
    judged = "" if args.width == DEFAULT_WIDTH else \
        f" (heights judged at {DEFAULT_WIDTH} px only)"
    with tempfile.TemporaryDirectory() as profile:
        proc, port = start_chromium(profile)
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                             method="PUT")
            target = json.loads(urllib.request.urlopen(request, timeout=30).read())
            tab = Tab(target["webSocketDebuggerUrl"])
            tab.call("Page.enable")
            for page in pages:
                digest = source_hash(sources[page])  # before the shot: what the build read
                out = args.out / f"{Path(page).name}.png"
                audit = shoot(tab, f"{base}/{page}.html", args.width, out)
                found = problems(audit, args.width)
                kb = out.stat().st_size // 1024
                tall = args.width == DEFAULT_WIDTH and audit["height"] > MAX_HEIGHT
                print(f"{page}: {audit['height']:,} px tall"
                      f"{f' (over the {MAX_HEIGHT:,} px limit)' if tall else ''}, "
                      f"article {audit['content']} px wide, "
                      f"code lines fit {audit['fits']} characters, "
                      f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({kb} KiB)")
                for item in audit["cut"]:
                    where = " (in a collapsed cell)" if item["collapsed"] else ""
                    print(f"  cut off{where}: <{item['tag']}> {item['over']} px wider than its "
                          f"{item['width']} px: {item['line']!r}")
                for text in audit["nan"]:
                    print(f"  NaN: {text.strip()!r}")
                for text in audit["paths"]:
                    print(f"  machine path: {text!r}")
                counts["tall"] += tall
                for key in ("cut", "nan", "paths"):
                    counts[key] += bool(audit[key])
                entries[page] = {
                    "source": sources[page].relative_to(ROOT).as_posix(),
                    "sha256": digest, "screenshot": out.name, "height": audit["height"],
                    "passed": not found, "problems": found,
                }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            server.shutdown()
    write_manifest(args.out / MANIFEST, entries, args.width)
    bad = sum(not e["passed"] for e in entries.values())
    print(f"{len(pages)} pages, {bad} with a problem{judged}: {counts['tall']} over "
          f"{MAX_HEIGHT:,} px, {counts['cut']} with something cut off, {counts['nan']} with a "
          f"NaN, {counts['paths']} with a machine path; manifest: {args.out / MANIFEST}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
