"""Full-page screenshots of every page of the built book, and an audit of what a reader would
miss: code or tables wider than their column (cut off, with a scroll bar) and "NaN" in the text.

Headless Chromium (Debian's ``chromium``) driven through the DevTools protocol (websocket-client,
installed with the ``dev`` extra), pages served from 127.0.0.1. The pages are those of
``_toc.yml`` (root first), as ``_build/html`` has them after ``make html``.

    python docs/screenshots/take.py [--width 1280] [--out docs/screenshots] [page ...]

Exit status 1 when a page has something cut off or a "NaN" (the audit is printed either way).
"""
from __future__ import annotations

import argparse
import base64
import functools
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

# What is wider than its box: code blocks and outputs that scroll sideways (collapsed cells
# included), tables whose container scrolls, and "NaN" as a word anywhere in the article's text.
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
  closed.forEach(d => { d.open = false; });
  const nan = (article.innerText.match(/[^\n]{0,50}\bNaN\b[^\n]{0,30}/g) || []);
  return JSON.stringify({cut, nan, fits, height: document.documentElement.scrollHeight,
                         content: article.clientWidth});
})()
"""


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
    height = int(audit["height"])
    # The viewport as tall as the page (as puppeteer's fullPage does), then one capture.
    tab.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
             deviceScaleFactor=1, mobile=False)
    time.sleep(0.3)
    shot = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                    clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    # 64 colours: text, code highlighting and plots stay legible, the files about a third of
    # the size of full-colour ones (chapter 9: 500 KiB against 1.6 MiB).
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
        .save(out, optimize=True)
    return audit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="pages (e.g. book/09_beyond_sweep); all if none")
    parser.add_argument("--width", type=int, default=1280, help="window width in CSS pixels")
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    pages = args.pages or pages_of_toc(ROOT / "_toc.yml")
    missing = [p for p in pages if not (args.html / f"{p}.html").exists()]
    if missing:
        sys.exit(f"not built: {', '.join(missing)} (run make html first)")
    args.out.mkdir(parents=True, exist_ok=True)

    handler = functools.partial(Quiet, directory=str(args.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    bad = 0
    with tempfile.TemporaryDirectory() as profile:
        proc, port = start_chromium(profile)
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                             method="PUT")
            target = json.loads(urllib.request.urlopen(request, timeout=30).read())
            tab = Tab(target["webSocketDebuggerUrl"])
            tab.call("Page.enable")
            for page in pages:
                out = args.out / f"{Path(page).name}.png"
                audit = shoot(tab, f"{base}/{page}.html", args.width, out)
                kb = out.stat().st_size // 1024
                print(f"{page}: {audit['height']} px tall, article {audit['content']} px wide, "
                      f"code lines fit {audit['fits']} characters, "
                      f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({kb} KiB)")
                for item in audit["cut"]:
                    where = " (in a collapsed cell)" if item["collapsed"] else ""
                    print(f"  cut off{where}: <{item['tag']}> {item['over']} px wider than its "
                          f"{item['width']} px: {item['line']!r}")
                for text in audit["nan"]:
                    print(f"  NaN: {text.strip()!r}")
                bad += bool(audit["cut"] or audit["nan"])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            server.shutdown()
    print(f"{len(pages)} pages, {bad} with something cut off or a NaN")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
