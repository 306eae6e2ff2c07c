"""The chat page in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by selenium
against `newsdesk serve` on a loopback port, over the sample articles and the real model."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from newsdesk.service import Service
from tests.conftest import EXAMPLES, ROOT

pytestmark = [pytest.mark.server, pytest.mark.model]
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "docs" / "screenshot.png"
STORM = "How many homes lost power in the storm?"
# An article whose text and title carry markup: the page must show it as text, never run or render it.
HOSTILE = {
    "id": "hostile-bakery", "source": "Quarry Lane Bulletin", "published_at": "2024-03-09",
    "url": "https://bulletin.example/2024/03/09/bakery",
    "title": "<img src=x onerror=\"window.__pwned='title'\">Bakery record",
    "text": "The Quarry Lane bakery sold 4,000 loaves <script>window.__pwned='text'</script> at the spring fair. "
            "Its owner said <b>bold</b> demand for rye bread surprised her.",
}
# A Markdown article as a .md file gives it: a first heading that repeats the title, and a subheading. Older than the
# samples, so the newest article (the page's example question) stays the samples' own.
HEADINGS = {
    "id": "lighthouse-museum", "source": "Cape Notes", "published_at": "2024-01-15",
    "title": "Lighthouse museum opens in the old keeper's cottage",
    "text": "# Lighthouse museum opens in the old keeper's cottage\n\nThe Cape Point lighthouse museum opened on "
            "Sunday in the restored keeper's cottage.\n\n## What visitors saw\n\nVisitors saw the original "
            "brass lens, which was polished by volunteers over two winters.\n",
}

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service as DriverService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - the dev extra installs it
    webdriver = None


def _missing() -> str | None:
    if webdriver is None:
        return "selenium is not installed: pip install -e '.[dev]'"
    if not (CHROMIUM.exists() and DRIVER.exists()):
        return ("Debian's chromium and chromium-driver are not installed (`make test` installs them when run as root: "
                "apt-get install chromium chromium-driver)")
    return None


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Path:
    """The sample articles plus one article full of markup, indexed with the real model."""
    from newsdesk.ingest.load import load_paths

    from newsdesk.adapters.chroma_store import ChromaStore, connect

    folder = tmp_path_factory.mktemp("browser")
    hostile = folder / "hostile.jsonl"
    hostile.write_text(json.dumps(HOSTILE) + "\n" + json.dumps(HEADINGS) + "\n", encoding="utf-8")
    path = folder / "index"
    service = Service(real_embedder, ChromaStore(connect(path=path), folder=path))
    report = service.ingest(load_paths([str(EXAMPLES), str(hostile)]))
    assert report.failed == 0, report.errors
    return path


class Server:
    """`newsdesk serve` as its own process, on a free loopback port."""

    def __init__(self, store: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        # the embedder the shared examples store was made with (tests/conftest.py real_embedder): an ONNX export on
        # this machine would be another model's vectors, and the index would be refused
        env.update(HF_HUB_OFFLINE="1", NEWSDESK_SNAPSHOT_DIR=str(store.parent / "copies"),
                   NEWSDESK_EMBEDDER="sentence-transformers")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsdesk.cli", "serve", "--port", str(self.port), "--store", str(store)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.communicate()
            try:
                with urllib.request.urlopen(self.url + "health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("newsdesk serve did not answer /health in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.communicate(timeout=60)


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[Server]:
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    running = Server(store)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[WebDriver]:
    os.environ["SE_AVOID_STATS"] = "true"  # selenium: no usage statistics (and no network)
    profile = tempfile.mkdtemp(prefix="newsdesk-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: WebDriver, server: Server) -> WebDriver:
    """The page, freshly loaded: a new conversation, no filters."""
    browser.set_window_size(1280, 1000)
    browser.get(server.url)
    WebDriverWait(browser, 10).until(lambda d: len(Select(d.find_element(By.ID, "outlet")).options) > 1)
    return browser


# -- helpers ---------------------------------------------------------------------------------------
def ask(driver: WebDriver, question: str, keyboard: bool = False) -> WebElement:
    """Ask and wait for the new answer (or an error); the turn's element."""
    before = len(driver.find_elements(By.CSS_SELECTOR, ".turn"))
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    if keyboard:
        box.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, "send").click()
    WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn")) > before
                                    or d.find_element(By.ID, "error").is_displayed())
    turns = driver.find_elements(By.CSS_SELECTOR, ".turn")
    assert len(turns) > before, driver.find_element(By.ID, "error").text
    return turns[-1]


def answer_json(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(server.url + "chat", json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


def open_citation(driver: WebDriver, button: WebElement) -> WebElement:
    button.click()
    return WebDriverWait(driver, 10).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#article-text mark.current")))


# -- the tests -------------------------------------------------------------------------------------
def test_ask_click_a_citation_and_read_the_quote_highlighted_in_its_article(page: WebDriver, server: Server,
                                                                           tmp_path: Path) -> None:
    turn = ask(page, STORM)
    expected = answer_json(server, {"question": STORM})
    citations = {c["n"]: c for c in expected["citations"]}
    markers = turn.find_elements(By.CSS_SELECTOR, ".answer-text .cite")
    assert [int(m.text) for m in markers] == sorted(citations)
    mark = open_citation(page, markers[0])
    first = citations[1]
    assert mark.text == first["sentence"]
    text = page.execute_script("return document.getElementById('article-text').textContent")
    assert text[first["start"]:first["end"]] == first["sentence"]  # the mark sits at the citation's exact offsets
    offset = page.execute_script(
        "const m = document.querySelector('#article-text mark.current'); const r = document.createRange();"
        "r.setStart(document.getElementById('article-text'), 0); r.setEndBefore(m); return r.toString().length;")
    assert offset == first["start"]
    assert page.find_element(By.ID, "article-title").text == first["title"]
    assert first["outlet"] in page.find_element(By.ID, "article-meta").text
    link = page.find_element(By.CSS_SELECTOR, "#article-link a")
    assert link.get_attribute("href") == first["url"] and link.get_attribute("rel") == "noopener noreferrer"
    others = [c for c in expected["citations"] if c["article_id"] == first["article_id"] and c["n"] != 1]
    also = [m.text for m in page.find_elements(By.CSS_SELECTOR, "#article-text mark.cited:not(.current)")]
    assert also == [c["sentence"] for c in sorted(others, key=lambda c: c["start"])]
    in_view = page.execute_script(
        "const m = document.querySelector('#article-text mark.current').getBoundingClientRect();"
        "const p = document.getElementById('article-text').getBoundingClientRect();"
        "return m.top >= p.top - 1 && m.bottom <= p.bottom + 1;")
    assert in_view
    # `make screenshot` refreshes the README's picture; other runs leave the work tree alone.
    page.save_screenshot(str(SCREENSHOT if os.environ.get("NEWSDESK_SCREENSHOT") else tmp_path / "answered.png"))


def test_a_follow_up_sends_the_earlier_question(page: WebDriver) -> None:
    ask(page, STORM)
    turn = ask(page, "And when were they reconnected?")
    assert turn.find_element(By.CSS_SELECTOR, ".who").text.lower() == "follow-up question"
    assert "abstained" not in turn.find_element(By.CSS_SELECTOR, ".answer").get_attribute("class")
    assert "reconnected" in turn.find_element(By.CSS_SELECTOR, ".answer-text").text
    page.find_element(By.ID, "new-conversation").click()
    assert not page.find_elements(By.CSS_SELECTOR, ".turn")


def test_the_outlet_filter_keeps_answers_to_that_outlet(page: WebDriver) -> None:
    page.find_element(By.CSS_SELECTOR, "#filters summary").click()
    Select(page.find_element(By.ID, "outlet")).select_by_value("Valley Courier")
    assert page.find_element(By.ID, "filter-summary").text == "from Valley Courier"
    turn = ask(page, STORM)
    metas = [m.text for m in turn.find_elements(By.CSS_SELECTOR, ".source-meta")]
    assert metas and all(m.startswith("Valley Courier") for m in metas), metas
    assert "from Valley Courier" in turn.find_element(By.CSS_SELECTOR, ".filters-used").text


def test_an_off_topic_question_is_a_plain_abstention(page: WebDriver) -> None:
    turn = ask(page, "Which team won the 1998 football World Cup final?")
    answer = turn.find_element(By.CSS_SELECTOR, ".answer")
    assert "abstained" in answer.get_attribute("class")
    assert answer.find_element(By.CSS_SELECTOR, ".abstain-title").text == "The reporting here does not answer that."
    assert not answer.find_elements(By.CSS_SELECTOR, ".cite")
    footer = answer.find_element(By.CSS_SELECTOR, ".answer-meta").text
    assert footer.startswith("Archive searched · ") and "Quoted answer" not in answer.text, footer


def newest_title(server: Server) -> str:
    with urllib.request.urlopen(server.url + "articles?per_page=1", timeout=30) as reply:
        return json.loads(reply.read())["articles"][0]["title"]  # type: ignore[no-any-return]


def test_the_example_question_comes_from_the_archive_and_an_empty_question_is_a_hint(page: WebDriver,
                                                                                      server: Server) -> None:
    example = f"What is reported about “{newest_title(server)}”?"
    box = page.find_element(By.ID, "question")
    WebDriverWait(page, 10).until(lambda d: box.get_attribute("placeholder") == "For example: " + example)
    page.find_element(By.ID, "send").click()
    message = WebDriverWait(page, 10).until(ec.visibility_of_element_located((By.ID, "error")))
    assert message.text == "Type a question first, for example: " + example
    assert "notice" in message.get_attribute("class")  # a hint, not an error
    assert page.switch_to.active_element == box
    turn = ask(page, example)  # the example is one the archive answers
    assert "abstained" not in turn.find_element(By.CSS_SELECTOR, ".answer").get_attribute("class")
    assert not page.find_element(By.ID, "error").is_displayed()


def test_the_sources_list_each_article_once_with_all_its_numbers(page: WebDriver, server: Server) -> None:
    turn = ask(page, STORM)
    expected: dict[str, list[str]] = {}
    for c in answer_json(server, {"question": STORM})["citations"]:
        expected.setdefault(c["title"], []).append(str(c["n"]))
    assert any(len(numbers) > 1 for numbers in expected.values()), expected  # one article is quoted twice
    shown = {source.find_element(By.CSS_SELECTOR, ".source-title").text:
             [n.text for n in source.find_elements(By.CSS_SELECTOR, ".source-n")]
             for source in turn.find_elements(By.CSS_SELECTOR, ".source")}
    assert shown == expected
    assert len(turn.find_elements(By.CSS_SELECTOR, ".source")) == len(expected)
    twice = next(b for b in turn.find_elements(By.CSS_SELECTOR, ".source-button") if len(b.text.split("\n")) > 3)
    open_citation(page, twice)  # the article opens with each of its quotes marked
    assert len(page.find_elements(By.CSS_SELECTOR, "#article-text mark.cited")) == max(map(len, expected.values()))


def test_the_article_shows_markdown_headings_as_headings_at_exact_offsets(page: WebDriver, server: Server) -> None:
    question = "What did visitors see at the Cape Point lighthouse museum?"
    turn = ask(page, question)
    cited = next(c for c in answer_json(server, {"question": question})["citations"]
                 if c["article_id"] == HEADINGS["id"])
    button = next(b for b in turn.find_elements(By.CSS_SELECTOR, ".answer-text .cite") if b.text == str(cited["n"]))
    mark = open_citation(page, button)
    shown = page.find_element(By.ID, "article-text").text  # what the reader sees
    assert "#" not in shown, shown
    assert not shown.startswith(HEADINGS["title"])  # the first heading repeats the title above it: not shown twice
    subheading = page.find_element(By.CSS_SELECTOR, "#article-text .md-heading")
    assert subheading.text == "What visitors saw" and subheading.value_of_css_property("font-weight") == "700"
    assert mark.text == cited["sentence"]
    text = page.execute_script("return document.getElementById('article-text').textContent")
    assert text == HEADINGS["text"]  # the hidden marks are still there: every offset holds
    offset = page.execute_script(
        "const m = document.querySelector('#article-text mark.current'); const r = document.createRange();"
        "r.setStart(document.getElementById('article-text'), 0); r.setEndBefore(m); return r.toString().length;")
    assert offset == cited["start"]


def test_a_bad_request_is_a_readable_message(page: WebDriver) -> None:
    page.execute_script("document.getElementById('after').value = '2024-03-10';"
                        "document.getElementById('before').value = '2024-03-01';")
    page.find_element(By.ID, "question").send_keys(STORM)
    page.find_element(By.ID, "send").click()
    error = WebDriverWait(page, 30).until(ec.visibility_of_element_located((By.ID, "error")))
    assert "could not take that request" in error.text and "swap them" in error.text
    assert not page.find_elements(By.CSS_SELECTOR, ".turn")


def test_markup_in_an_article_stays_text(page: WebDriver) -> None:
    turn = ask(page, "How many loaves did the Quarry Lane bakery sell at the spring fair?")
    button = next(b for b in turn.find_elements(By.CSS_SELECTOR, ".source-button") if "Bakery record" in b.text)
    assert "<img" in button.text  # the title, as text
    mark = open_citation(page, button)
    assert "<script>" in mark.text or "<script>" in page.find_element(By.ID, "article-text").text
    assert "<img src=x" in page.find_element(By.ID, "article-title").text
    assert page.execute_script("return window.__pwned") is None
    for selector in ("script", "img", "b"):
        assert not page.find_elements(By.CSS_SELECTOR, f"#article {selector}, .turns {selector}")


def test_keyboard_only(page: WebDriver) -> None:
    turn = ask(page, STORM, keyboard=True)
    assert page.switch_to.active_element == turn.find_element(By.CSS_SELECTOR, ".answer")
    page.switch_to.active_element.send_keys(Keys.TAB)
    first = turn.find_element(By.CSS_SELECTOR, ".answer-text .cite")
    assert page.switch_to.active_element == first
    first.send_keys(Keys.ENTER)
    mark = WebDriverWait(page, 10).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#article-text mark.current")))
    assert page.switch_to.active_element == mark  # reading starts at the quote
    page.switch_to.active_element.send_keys(Keys.ESCAPE)
    WebDriverWait(page, 5).until(ec.invisibility_of_element_located((By.ID, "article")))
    assert page.switch_to.active_element == first  # and comes back where it left


def test_phone_width_and_contrast(page: WebDriver) -> None:
    ask(page, STORM)
    open_citation(page, page.find_element(By.CSS_SELECTOR, ".answer-text .cite"))
    for width in (1280, 390):  # a phone's width, emulated (a headless window has a minimum width of its own)
        page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                             {"width": width, "height": 844, "deviceScaleFactor": 1, "mobile": width < 800})
        assert page.execute_script("return window.innerWidth") == width
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        ratios = page.execute_script(CONTRAST)
        low = {k: v for k, v in ratios.items() if v < 4.5}
        assert not low, low
        assert len(ratios) >= 12, ratios
    page.save_screenshot(str(Path(tempfile.gettempdir()) / "newsdesk-phone.png"))
    page.find_element(By.ID, "close-article").click()
    assert page.find_element(By.ID, "question").is_displayed()
    page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@contextmanager
def serving(service: Service) -> Iterator[str]:
    """The page and API over an in-process service (a fake one, fast), on a free loopback port: its URL."""
    from newsdesk.api.http import handle_chat
    from newsdesk.api.local_server import make_server

    httpd = make_server("127.0.0.1", 0, lambda event, context: handle_chat(event, lambda: service))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_follow_up_says_how_it_was_taken(browser: WebDriver, loaded_fake_service: Service, tmp_path: Path) -> None:
    browser.set_window_size(1280, 1000)
    with serving(loaded_fake_service) as url:
        browser.get(url)
        first = ask(browser, STORM)
        second = ask(browser, "When was it restored?")
        assert not first.find_elements(By.CSS_SELECTOR, ".resolved-question") and "Taken as" not in first.text
        taken = second.find_element(By.CSS_SELECTOR, ".question .resolved-question")
        assert taken.text.startswith("Taken as: When was it restored? ("), taken.text
        assert "Taken as: When was it restored? (" in second.text
        assert browser.execute_script("return arguments[0].children.length", taken) == 0  # text, never markup
        browser.save_screenshot(str(tmp_path / "follow-up.png"))
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        try:
            assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
            assert taken.is_displayed()
            ratios = browser.execute_script(CONTRAST)
            assert ratios[".resolved-question"] >= 4.5, ratios
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", taken)
            browser.save_screenshot(str(Path(tempfile.gettempdir()) / "newsdesk-follow-up-phone.png"))
        finally:
            browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.find_element(By.ID, "new-conversation").click()
        alone = ask(browser, "When was it restored?")  # no history any more: nothing to fill in
        assert alone.find_element(By.CSS_SELECTOR, ".who").text.lower() == "question"
        assert not alone.find_elements(By.CSS_SELECTOR, ".resolved-question")


def test_a_bedrock_answer_shows_what_was_verified_and_never_a_dropped_citation(
        browser: WebDriver, loaded_fake_service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from newsdesk.adapters.bedrock import BedrockGenerator
    from tests.bedrock_fake import MODEL_ID, Call, Reply, aws_test_env, running

    def script(call: Call) -> Reply:
        storm = call.label_of("9,500 homes")
        return Reply(text=f"The storm cut power to 9,500 homes [{storm}]. Crews restored every home overnight [S99]. "
                          f"In all 95,000 homes lost power [{storm}]. It was the worst storm in memory.")

    aws_test_env(monkeypatch)
    with running() as fake:
        fake.reply(script)
        loaded_fake_service.pipeline.generators = {"bedrock": BedrockGenerator(MODEL_ID, "us-east-1", fake.url, 5.0, 1)}
        loaded_fake_service.pipeline.default_answerer = "bedrock"
        with serving(loaded_fake_service) as url:
            browser.set_window_size(1280, 1000)
            browser.get(url)
            turn = ask(browser, STORM)
    answer = turn.find_element(By.CSS_SELECTOR, ".answer")
    text = browser.execute_script("return arguments[0].textContent", answer.find_element(By.CSS_SELECTOR, ".answer-text"))
    note = "(3 generated statements were left out because the sources do not support them.)"
    assert text == "The storm cut power to 9,500 homes. 1 " + note  # the API's own count
    counts = re.findall(r"\d+ (?:\w+ )?(?:statements?|sentences?)\b", answer.text)
    assert counts == ["3 generated statements"], counts  # said once, not again by the page
    assert [b.text for b in answer.find_elements(By.CSS_SELECTOR, ".cite")] == ["1"]  # S99 named no source: gone
    assert answer.find_element(By.CSS_SELECTOR, ".badge.ok").text == "Verified"
    [quote] = answer.find_elements(By.CSS_SELECTOR, ".quote")
    assert "9,500 homes" in quote.text  # the verified source sentence, quoted
    # What was left out, and why: collapsed until asked for, then each statement with its reasons, never as a source.
    left_out = answer.find_element(By.CSS_SELECTOR, "details.left-out")
    assert left_out.get_attribute("open") is None
    assert "restored every home" not in answer.text and "95,000" not in answer.text and "worst storm" not in answer.text
    left_out.find_element(By.TAG_NAME, "summary").click()
    items = [(item.find_element(By.CSS_SELECTOR, ".left-out-statement").text,
              item.find_element(By.CSS_SELECTOR, ".left-out-why").text)
             for item in left_out.find_elements(By.CSS_SELECTOR, ".left-out-item")]
    no_source = "Why: it cites no source sentence that was given and verified."
    assert items == [("“Crews restored every home overnight.”", no_source),
                     ("“In all 95,000 homes lost power.”", 'Why: the figure "95,000" is not in the cited sentences.'),
                     ("“It was the worst storm in memory.”", no_source)], items
    assert "S99" not in answer.text  # the dropped citation is not shown, even beside its statement
    assert [b.text for b in answer.find_elements(By.CSS_SELECTOR, ".cite, .source-n")] == ["1", "1"]
    assert len(answer.find_elements(By.CSS_SELECTOR, ".quote")) == 1
    ratios = browser.execute_script(CONTRAST)
    low = {k: v for k, v in ratios.items() if v < 4.5}
    assert not low and {".left-out summary", ".left-out-statement", ".left-out-why"} <= set(ratios), ratios
    answer.screenshot(str(tmp_path / "left-out.png"))


def test_the_server_gone_is_a_readable_message_in_view(page: WebDriver, server: Server, tmp_path: Path) -> None:
    page.set_window_size(1280, 800)
    for question in (STORM, "And when were they reconnected?", "When will the Old Mill Bridge reopen?"):
        ask(page, question)
    assert page.execute_script("return document.documentElement.scrollHeight > 1.5 * window.innerHeight")
    page.execute_script("window.scrollTo(0, 0)")  # reading the first answer of a long conversation
    server.stop()
    page.find_element(By.ID, "question").send_keys(STORM)
    page.find_element(By.ID, "send").click()
    try:
        error = WebDriverWait(page, 30).until(ec.visibility_of_element_located((By.ID, "error")))
    except TimeoutException:
        raise AssertionError("no error message once the server stopped") from None
    assert "Cannot reach Newsdesk" in error.text
    assert page.find_element(By.ID, "send").is_enabled()  # the spinner is gone, the user can try again
    assert not page.find_element(By.ID, "status").text
    page.save_screenshot(str(tmp_path / "server-gone.png"))
    # Seen where the eye is, without scrolling: wholly inside the window and on top (nothing covers it).
    seen = page.execute_script(VISIBLE, error)
    assert seen == {"inside": True, "on_top": True}, (seen, tmp_path / "server-gone.png")


# Whether an element lies wholly inside the viewport, and is what the browser shows near its corners (inside the
# rounded ones) and at its centre.
VISIBLE = """
const r = arguments[0].getBoundingClientRect();
const inside = r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth && r.height > 0;
const points = [[r.left + 12, r.top + 12], [r.right - 12, r.bottom - 12], [(r.left + r.right) / 2, (r.top + r.bottom) / 2]];
const on_top = inside && points.every(([x, y]) => arguments[0].contains(document.elementFromPoint(x, y)));
return {inside: inside, on_top: on_top};
"""


# WCAG 2.1 contrast of each kind of text on the page, on its nearest opaque background.
CONTRAST = """
function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
function background(el) { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                            if (c.a > 0.9) return c; } return {r: 255, g: 255, b: 255, a: 1}; }
const out = {};
for (const sel of ["body", ".tagline", ".brand", ".hint", ".ask-label", ".filter-row label", ".link", ".question-text",
                   ".who", ".answer-text", ".cite", ".source-title", ".source-meta", ".answer-meta", ".primary",
                   ".kicker", ".meta", ".article-link a", "mark.current", "mark.cited", ".close", ".footer", ".footer a",
                   ".conflict-title", ".claims td", ".claims th", ".resolved-question", ".left-out summary",
                   ".left-out-statement", ".left-out-why"]) {
  const el = document.querySelector(sel);
  if (!el || !el.getClientRects().length) continue;
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
  out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
return out;
"""


def test_a_generated_answer_that_fell_back_says_why_in_plain_words(
        browser: WebDriver, loaded_fake_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsdesk.adapters.bedrock import BedrockGenerator
    from tests.bedrock_fake import MODEL_ID, Reply, aws_test_env, running

    aws_test_env(monkeypatch)
    with running() as fake:
        fake.reply(lambda call: Reply(status=400, error_type="ThrottlingException"))
        loaded_fake_service.pipeline.generators = {"bedrock": BedrockGenerator(MODEL_ID, "us-east-1", fake.url, 5.0, 1)}
        loaded_fake_service.pipeline.default_answerer = "bedrock"
        with serving(loaded_fake_service) as url:
            browser.get(url)
            turn = ask(browser, STORM)
    note = turn.find_element(By.CSS_SELECTOR, ".answer .note").text
    assert note == ("The generated answer was not available (the writing service is busy right now), so this answer "
                    "quotes the sources directly.")
    assert "throttled" not in turn.text  # the JSON's code, not for readers
