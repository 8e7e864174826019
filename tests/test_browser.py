"""The rendered book as a reader sees it, checked in headless Chromium with the network off.

Needs the built book (`make book` writes `_build/html`; set VGRAD_BOOK_HTML to check another
build) and a Chromium (`apt-get install chromium`). Without either, the tests are skipped with
the reason, except under CI=true, where CI installs Chromium and builds the book first
(.ci/run), so a missing one is a failure. Screenshots of one chapter in the light and dark themes
are saved under `_build/screenshots/`.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import browser_checks as bc
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("VGRAD_BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = SITE.parent / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHAPTER = "book/03_vanishing.html"  # the chapter screenshotted and broken in the negative tests
SEARCH_QUERY = "gradient"


def _require(ok: bool, reason: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: CI must build the book and install Chromium)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    _require(
        (SITE / "index.html").is_file(),
        f"the book is not built ({SITE}/index.html missing): run `make book` first",
    )
    buildinfo = SITE / ".buildinfo"
    _require(
        not buildinfo.is_file()
        or buildinfo.stat().st_mtime >= (ROOT / "_config.yml").stat().st_mtime,
        "the built book is older than _config.yml: run `make book` again",
    )
    executable = bc.find_chromium()
    _require(executable is not None, "no Chromium installed (Debian: `apt-get install chromium`)")
    with bc.chromium(executable) as b:
        yield b


@pytest.fixture(scope="module")
def site(browser):
    """The real build, served locally: ``(browser, base_url, blocked_requests, site_dir)``."""
    with bc.serve(SITE) as base:
        context, blocked = bc.offline_context(browser, base)
        yield context, base, blocked
        context.close()


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _broken_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "html"
    shutil.copytree(SITE, copy)
    return copy


# --- the real book -------------------------------------------------------------------------


@pytest.mark.parametrize("page_path", bc.toc_pages(ROOT))
def test_every_toc_page_renders_offline(site, page_path):
    context, base, blocked = site
    _require(
        (SITE / page_path).is_file(),
        f"{page_path} is listed in _toc.yml but not in the build: run `make book` again",
    )
    n_blocked = len(blocked)
    page = bc.open_page(context, base + page_path)
    try:
        problems = (
            bc.render_problems(page)
            + bc.image_problems(page)
            + bc.code_scroll_problems(page)
            + bc.math_problems(page)
            + bc.link_problems(page, SITE, base)
            + bc.launch_link_problems(bc.launch_links(page), ROOT)
            + bc.launch_link_repository_problems(bc.launch_links(page), _config())
            + bc.animation_problems(page)
        )
        problems += [f"tried to fetch {url} (the network is off)" for url in blocked[n_blocked:]]
    finally:
        page.close()
    assert not problems, "\n".join(problems)


def test_front_page_links_every_toc_page(site):
    context, base, _ = site
    root, *chapters = bc.toc_pages(ROOT)
    page = context.new_page()
    try:
        page.goto(base + "index.html")  # a redirect to the root page
        page.wait_for_url(base + root)
        page.wait_for_load_state("load")
        hrefs = set(page.evaluate("() => Array.from(document.querySelectorAll('a'), a => a.href)"))
    finally:
        page.close()
    # A page missing from the build is reported by test_every_toc_page_renders_offline.
    missing = [p for p in chapters if (SITE / p).is_file() and base + p not in hrefs]
    assert not missing, f"not linked from the front page's navigation: {missing}"


def test_chapter_has_figures_math_and_launch_buttons(site):
    """The screenshotted chapter really exercises the checks (figures, math, notebook links)."""
    context, base, _ = site
    page = bc.open_page(context, base + CHAPTER)
    try:
        assert bc.count_figures(page) >= 2, bc.count_figures(page)
        assert page.locator("article mjx-container").count() >= 5
        links = bc.launch_links(page)
        hosts = {link.split("/")[2] for link in links}
        assert hosts == set(bc.LAUNCH_HOSTS), links
        assert not bc.launch_link_problems(links, ROOT)
        download = page.evaluate(
            "() => Array.from(document.querySelectorAll('a[href$=\".ipynb\"]'), a => a.href)"
        )
        assert any("_sources/book/03_vanishing.ipynb" in h for h in download), download
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "chapter.png"), full_page=False)
    finally:
        page.close()


def test_figures_legible_in_dark_mode(browser):
    with bc.serve(SITE) as base:
        context, blocked = bc.offline_context(browser, base, dark=True)
        try:
            page = bc.open_page(context, base + CHAPTER)
            theme = page.evaluate("() => document.documentElement.dataset.theme")
            assert theme == "dark", theme
            problems = bc.figure_background_problems(page) + bc.image_problems(page)
            figure = page.locator("article img").nth(1)
            figure.scroll_into_view_if_needed()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "chapter-dark.png"))
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_search_returns_results(site):
    context, base, _ = site
    problems = bc.search_problems(context, base, SEARCH_QUERY)
    assert not problems, problems


def test_bibliography_and_citations_render(site):
    context, base, _ = site
    page = bc.open_page(context, base + "book/references.html")
    try:
        entries = page.locator("article .citation, article dl.citation > dt").count()
    finally:
        page.close()
    assert entries >= 5, f"the References page lists {entries} entries"
    page = bc.open_page(context, base + "book/glossary.html")
    try:
        cites = page.locator("article a[href*='references.html#']").count()
        terms = page.locator("article dl.glossary > dt").count()
    finally:
        page.close()
    assert cites >= 3, f"glossary has {cites} in-text citations linking to the bibliography"
    assert terms >= 13, f"glossary defines {terms} terms"


def _animated_pages(site_dir: Path) -> list[str]:
    pages = [p for p in bc.toc_pages(ROOT) if (site_dir / p).is_file()]
    return [p for p in pages if 'class="animation"' in (site_dir / p).read_text(errors="replace")]


def test_at_least_three_chapters_animate_and_their_players_are_checked(site):
    context, base, _ = site
    animated = _animated_pages(SITE)
    assert len(animated) >= 3, f"animations in {animated}: the course promises at least three"
    page = bc.open_page(context, base + animated[0])
    try:
        assert bc.count_animations(page) >= 1
    finally:
        page.close()


@pytest.mark.parametrize("page_path", bc.toc_pages(ROOT))
def test_every_page_is_light_enough_to_read_offline(page_path):
    _require((SITE / page_path).is_file(), f"{page_path} is not built: run `make book`")
    weight = bc.page_weight(SITE, page_path)
    assert weight < bc.MAX_PAGE_BYTES, (
        f"{page_path} weighs {weight / 1e6:.2f} MB (HTML and images), over "
        f"{bc.MAX_PAGE_BYTES / 1e6:.0f} MB: fewer frames or a lower dpi"
    )


def test_nothing_was_fetched_from_the_network(site):
    """Runs after the page tests (same module, same context): no page asked for another host
    except through a link the reader clicks."""
    _, _, blocked = site
    assert not blocked, f"pages tried to fetch from the network: {sorted(set(blocked))[:10]}"


# --- the checks can fail: broken copies of the book -----------------------------------------


@pytest.mark.parametrize("breakage", ["image", "mathjax", "link", "launch", "wide code"])
def test_checks_detect_a_broken_page(browser, tmp_path, breakage):
    copy = _broken_copy(tmp_path)
    chapter = copy / CHAPTER
    if breakage == "image":
        src = re.search(r'<img [^>]*src="(\.\./_images/[^"]+)"', chapter.read_text()).group(1)
        (chapter.parent / src).unlink()
    elif breakage == "mathjax":
        (copy / "_static" / "mathjax" / "tex-chtml.js").write_text("/* broken */\n")
    elif breakage == "link":
        html = chapter.read_text().replace(
            "</article>", '<a href="nowhere.html">x</a></article>', 1
        )
        chapter.write_text(html)
    elif breakage == "wide code":  # a code line far past the column
        html = re.sub(
            r'(<div class="cell_input[^>]*>.*?<pre>)',
            r"\1" + "x = 1  # " + "y" * 120 + "\n",
            chapter.read_text(),
            count=1,
            flags=re.S,
        )
        chapter.write_text(html)
    with bc.serve(copy) as base:
        context, _ = bc.offline_context(browser, base)
        try:
            page = bc.open_page(context, base + CHAPTER)
            links = bc.launch_links(page)
            if breakage == "launch":  # as if the repository settings pointed at a wrong path
                links = [link.replace(".ipynb", "_missing.ipynb") for link in links]
            found = {
                "image": bc.image_problems(page),
                "mathjax": bc.math_problems(page),
                "link": bc.link_problems(page, copy, base),
                "launch": bc.launch_link_problems(links, ROOT),
                "wide code": bc.code_scroll_problems(page),
            }
        finally:
            context.close()
    assert found[breakage], f"the {breakage} check missed a broken page"
    healthy = {k: v for k, v in found.items() if k != breakage}
    assert not any(healthy.values()), healthy


@pytest.mark.parametrize("breakage", ["player script", "cdn icons"])
def test_animation_check_detects_a_broken_player(browser, tmp_path, breakage):
    animated = _animated_pages(SITE)
    _require(bool(animated), "no animated page in the build")
    copy = _broken_copy(tmp_path)
    target = copy / animated[0]
    html = target.read_text()
    if breakage == "player script":  # the frames are there, the JavaScript player is not
        html = html.replace("new Animation(", "new BrokenAnimation(")
    else:  # matplotlib's own icons: a CDN font, blank offline
        html = re.sub(r'<span aria-hidden="true">[^<]*</span>', '<i class="fa fa-play"></i>', html)
    target.write_text(html)
    with bc.serve(copy) as base:
        context, _ = bc.offline_context(browser, base)
        try:
            problems = bc.animation_problems(bc.open_page(context, base + animated[0]))
        finally:
            context.close()
    assert problems, f"the animation check missed a broken player ({breakage})"


def test_page_weight_counts_the_html_and_its_images(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "a.png").write_bytes(b"x" * 1000)
    page = tmp_path / "book" / "p.html"
    page.write_text('<img src="../_images/a.png"><img src="data:image/png;base64,AAAA">')
    assert bc.page_weight(tmp_path, "book/p.html") == page.stat().st_size + 1000


# --- configuration checks that need no browser ------------------------------------------------


def test_config_serves_mathjax_locally_and_configures_launch_buttons():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]
    assert "://" not in sphinx["config"]["mathjax_path"], "MathJax must not come from a CDN"
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]
    assert config["repository"]["url"].startswith("https://github.com/")
    assert config["repository"]["path_to_book"] == "", "the book root is the repository root"
    assert config["launch_buttons"]["colab_url"] and config["launch_buttons"]["binderhub_url"]
    assert config["execute"]["execute_notebooks"] == "cache"
    assert "cache" not in config["execute"], "keep jupyter-cache inside _build/ (CI deletes it)"


def test_launch_link_check_accepts_real_and_rejects_missing_notebooks():
    colab = "https://colab.research.google.com/github/org/repo/blob/main/{}"
    binder = "https://mybinder.org/v2/gh/org/repo/main?urlpath=lab/tree/{}"
    nb = bc.toc_pages(ROOT)[1].replace(".html", ".ipynb")
    assert (ROOT / nb).is_file(), nb
    good = [colab.format(nb), binder.format(nb)]
    assert not bc.launch_link_problems(good, ROOT)
    bad = [colab.format("book/nope.ipynb"), binder.format(nb.replace(".ipynb", ".md"))]
    assert len(bc.launch_link_problems(bad, ROOT)) == 2


def test_launch_links_must_come_from_the_configured_repository():
    config = _config()
    owner_repo = "/".join(config["repository"]["url"].rstrip("/").split("/")[-2:])
    branch = config["repository"]["branch"]
    good = [
        f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/book/x.ipynb",
        f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/book/x.ipynb",
    ]
    assert not bc.launch_link_repository_problems(good, config)
    bad = [link.replace(owner_repo, "someone/else") for link in good]
    assert len(bc.launch_link_repository_problems(bad, config)) == 2


def test_toc_pages_start_at_the_root_and_include_back_matter():
    pages = bc.toc_pages(ROOT)
    assert pages[0] == "book/intro.html"
    assert {"book/running.html", "book/glossary.html", "book/references.html"} <= set(pages)
    assert len(pages) == len(set(pages))
