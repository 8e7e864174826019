"""Checks of the rendered book in headless Chromium, used by tests/test_browser.py.

Each ``*_problems`` function returns a list of human-readable problems (empty = fine), so the
same function is used on the real build (expect none) and on deliberately broken copies of it
(expect some): that is how the tests show the checks can fail.

The site is served from 127.0.0.1 by a throw-away HTTP server, and every request to any other
host is aborted ("network off"): MathJax, fonts and scripts must all come from the build itself.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sphinx_external_toc.parsing import parse_toc_yaml

# Flags that work for Debian's chromium in a container; Playwright adds its own fresh, empty
# user-data-dir for every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
LAUNCH_HOSTS = ("colab.research.google.com", "mybinder.org")
MATH_TIMEOUT_MS = 20_000


def find_chromium() -> str | None:
    """Return the path of an installed Chromium, or None (Playwright's own is never used)."""
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def toc_pages(repo_root: Path) -> list[str]:
    """Return the HTML path (relative to the site root) of every page listed in ``_toc.yml``."""
    return [f"{docname}.html" for docname in parse_toc_yaml(repo_root / "_toc.yml")]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 (a free port) and yield its base URL, ending in ``/``."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def chromium(executable: str) -> Iterator[object]:
    """Launch headless Chromium through Playwright and yield the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_context(browser: object, base: str, *, dark: bool = False) -> tuple[object, list]:
    """Return a new browser context that may reach only ``base``, and the list of blocked URLs.

    Args:
        browser: A Playwright Browser.
        base: The local site's base URL; every other request is aborted and recorded.
        dark: Open pages in the theme's dark mode.

    Returns:
        ``(context, blocked)``: ``blocked`` fills with the URLs the pages tried to fetch elsewhere.
    """
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme="dark" if dark else "light"
    )
    mode = "dark" if dark else "light"
    # pydata-sphinx-theme reads the reader's choice from localStorage before the first paint.
    context.add_init_script(f"localStorage.setItem('mode', '{mode}');")
    blocked: list[str] = []

    def route(request_route: object) -> None:
        url = request_route.request.url
        if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    return context, blocked


def open_page(context: object, url: str) -> object:
    """Open ``url`` in a new page and wait until it has loaded and MathJax (if any) is done."""
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                await MathJax.startup.promise;
            }
        }"""
    )
    return page


def render_problems(page: object) -> list[str]:
    """A chapter renders: it has a non-empty title and a body, and shows no error output."""
    problems = []
    title = page.evaluate(
        "() => (document.querySelector('article h1') || {}).textContent || ''"
    ).strip()
    if not title:
        problems.append(f"{page.url}: no <h1> title in the article")
    text = page.evaluate("() => (document.querySelector('article') || {}).innerText || ''")
    if len(text) < 200:
        problems.append(f"{page.url}: article body has only {len(text)} characters")
    if page.locator("article .output.traceback, article .output.error").count():
        problems.append(f"{page.url}: shows an error output")
    return problems


def code_scroll_problems(page: object) -> list[str]:
    """No code cell scrolls sideways: each input fits the page's code column (STYLE habit 14)."""
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('article .cell_input pre'))
            .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
            .map(pre => {
                const lines = pre.innerText.split('\\n');
                const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
                return `${pre.scrollWidth}px in ${pre.clientWidth}px: ${longest.trim()}`;
            })"""
    )
    return [f"{page.url}: code cell scrolls sideways ({line})" for line in wide]


def image_problems(page: object) -> list[str]:
    """Every image in the page has loaded (``naturalWidth > 0``)."""
    broken = page.evaluate(
        """async () => {
            const bad = [];
            for (const img of Array.from(document.images)) {
                img.loading = 'eager';
                try { await img.decode(); } catch (e) { /* reported below */ }
                if (!img.complete || img.naturalWidth === 0) bad.push(img.getAttribute('src'));
            }
            return bad;
        }"""
    )
    return [f"{page.url}: image did not load: {src}" for src in broken]


def count_figures(page: object) -> int:
    """Return the number of images in the page's article (figures and cell outputs)."""
    return page.locator("article img").count()


def math_problems(page: object) -> list[str]:
    """Every math element of the page was typeset by MathJax (``mjx-container``, no errors)."""
    n_math = page.locator("article .math").count()
    if n_math == 0:
        return []
    if not page.evaluate("() => typeof window.MathJax === 'object' && !!MathJax.startup"):
        return [f"{page.url}: MathJax did not load: {n_math} math elements left as TeX"]
    try:
        page.wait_for_function(
            f"() => document.querySelectorAll('article mjx-container').length >= {n_math}",
            timeout=MATH_TIMEOUT_MS,
        )
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: reported as a problem
        typeset = page.locator("article mjx-container").count()
        return [f"{page.url}: MathJax typeset {typeset} of {n_math} math elements"]
    errors = page.locator("article mjx-merror").count()
    return [f"{page.url}: {errors} MathJax errors"] if errors else []


def figure_background_problems(page: object) -> list[str]:
    """Figures carry their own opaque, light background, so they stay legible in dark mode."""
    samples = page.evaluate(
        """async () => {
            const out = [];
            for (const img of Array.from(document.querySelectorAll('article img'))) {
                try { await img.decode(); } catch (e) { continue; }
                const c = document.createElement('canvas');
                c.width = img.naturalWidth; c.height = img.naturalHeight;
                const ctx = c.getContext('2d');
                ctx.drawImage(img, 0, 0);
                const corners = [[1, 1], [c.width - 2, 1], [1, c.height - 2],
                                 [c.width - 2, c.height - 2]];
                out.push([img.getAttribute('src'),
                          corners.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data))]);
            }
            return out;
        }"""
    )
    problems = []
    for src, corners in samples:
        for r, g, b, a in corners:
            if a < 250 or min(r, g, b) < 200:
                problems.append(
                    f"{page.url}: figure {src} has a transparent or dark corner "
                    f"rgba=({r},{g},{b},{a}); it would be illegible on the dark theme"
                )
                break
    return problems


def _target_exists(site: Path, url: str, base: str) -> tuple[bool, str]:
    parts = urlsplit(url)
    path = unquote(parts.path[len(urlsplit(base).path) :])
    target = site / path
    if path == "" or path.endswith("/"):
        target = target / "index.html"
    if not target.is_file():
        return False, f"missing file {path or 'index.html'}"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html":
        html = target.read_text(encoding="utf-8", errors="replace")
        if f'id="{fragment}"' not in html and f'name="{fragment}"' not in html:
            return False, f"no anchor #{fragment} in {path}"
    return True, ""


def link_problems(page: object, site: Path, base: str) -> list[str]:
    """Every link from the page to the site itself points at an existing file and anchor."""
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    problems = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue
        ok, why = _target_exists(site, href, base)
        if not ok:
            problems.append(f"{page.url}: broken link {href} ({why})")
    return problems


def launch_links(page: object) -> list[str]:
    """Return the Colab/Binder launch links of the page."""
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    return sorted({h for h in hrefs if urlsplit(h).hostname in LAUNCH_HOSTS})


def launch_link_problems(links: list[str], repo_root: Path) -> list[str]:
    """Each launch link opens an ``.ipynb`` that exists in the repository."""
    problems = []
    for link in links:
        parts = urlsplit(link)
        if parts.hostname == "mybinder.org":
            query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
            nb = unquote(query.get("urlpath", "")).split("tree/", 1)[-1]
        else:
            nb = unquote(parts.path).split("/blob/", 1)[-1].split("/", 1)[-1]
        if not nb.endswith(".ipynb") or not (repo_root / nb).is_file():
            problems.append(f"launch link {link} does not open an existing notebook ({nb!r})")
    return problems


def search_problems(context: object, base: str, query: str) -> list[str]:
    """The search page returns at least one result for ``query``."""
    page = context.new_page()
    page.goto(f"{base}search.html?q={query}", wait_until="load")
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('#search-results ul.search li').length > 0",
            timeout=20_000,
        )
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: reported as a problem
        return [f"search for {query!r} returned no results"]
    finally:
        page.close()
    return []


#: The largest page a reader downloads: its HTML plus the images it shows (issue 14).
MAX_PAGE_BYTES = 3_000_000


def page_weight(site: Path, page_path: str) -> int:
    """Bytes of a built page: its HTML (with any embedded animation) plus its local images."""
    page = site / page_path
    html = page.read_text(encoding="utf-8", errors="replace")
    total = page.stat().st_size
    for src in set(re.findall(r'<img [^>]*src="([^"]+)"', html)):
        if "://" in src or src.startswith("data:"):
            continue  # embedded frames are counted in the HTML; remote images are refused elsewhere
        image = (page.parent / unquote(src.split("#")[0])).resolve()
        if image.is_file():
            total += image.stat().st_size
    return total


def count_animations(page: object) -> int:
    """Return the number of matplotlib animation players in the page's article."""
    return page.locator("article div.animation").count()


def animation_problems(page: object) -> list[str]:
    """Every animation player works offline: a frame shows, the buttons have visible labels,
    "Next frame", "Last frame", "First frame", the slider and "Play" each change the frame."""
    problems = []
    players = page.locator("article div.animation")
    for i in range(players.count()):
        player = players.nth(i)
        img = player.locator("img").first
        slider = player.locator("input.anim-slider").first

        def state(img: object = img, slider: object = slider) -> tuple[str, int]:
            return (img.get_attribute("src") or "", int(slider.input_value() or -1))

        def press(title: str, player: object = player) -> None:
            player.locator(f'button[title="{title}"]').first.click()

        name = f"{page.url}: animation {i + 1}"
        try:
            last = int(slider.get_attribute("max") or 0)
            blank = player.evaluate(
                "el => Array.from(el.querySelectorAll('button'))"
                ".filter(b => !b.innerText.trim()).length"
            )
            if blank:
                problems.append(f"{name}: {blank} buttons show no label (icons from a CDN?)")
            press("Pause")
            press("First frame")
            first_src, at = state()
            if not first_src.startswith("data:image/") or at != 0:
                problems.append(f"{name}: no first frame shown (src {first_src[:30]!r}, at {at})")
            press("Next frame")
            src, at = state()
            if at != 1 or src == first_src:
                problems.append(f"{name}: 'Next frame' did not advance (at {at})")
            press("Last frame")
            if state()[1] != last or last < 2:
                problems.append(f"{name}: 'Last frame' went to {state()[1]}, not {last}")
            slider.fill("1")  # dragging the slider fires its input event
            if state()[1] != 1:
                problems.append(f"{name}: the slider did not move the player")
            press("First frame")
            press("Play")
            page.wait_for_timeout(1500)
            press("Pause")
            if state()[1] == 0:
                problems.append(f"{name}: 'Play' did not advance in 1.5 s")
        except Exception as err:  # noqa: BLE001 - Playwright errors: reported as a problem
            problems.append(f"{name}: {type(err).__name__}: {err}")
    return problems


def launch_link_repository_problems(links: list[str], config: dict) -> list[str]:
    """Each launch link is built from ``_config.yml``'s repository (url and branch)."""
    repo = config["repository"]
    owner_repo = "/".join(str(repo["url"]).rstrip("/").split("/")[-2:])
    branch = repo.get("branch", "main")
    buttons = config["launch_buttons"]
    prefixes = (
        f"{str(buttons['colab_url']).rstrip('/')}/github/{owner_repo}/blob/{branch}/",
        f"{str(buttons['binderhub_url']).rstrip('/')}/v2/gh/{owner_repo}/{branch}?",
    )
    return [
        f"launch link {link} is not built from repository.url/branch in _config.yml"
        for link in links
        if not link.startswith(prefixes)
    ]
