"""``nn-tui serve`` in a real browser: headless Chromium, driven by selenium.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them when missing);
nothing is downloaded at test time. The page draws the terminal with xterm.js on a
canvas, so its text is not in the DOM: a script added before the page loads keeps a copy
of what the page's WebSocket receives (the very bytes xterm.js draws), and the test reads
that, without its escape sequences. Screenshots go to the test's folder, and to
``$NN_TUI_SERVE_SCREENSHOTS`` when set (to look at them).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.tui.test_serve import TOKEN, children, fetch_page, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1200,800")

if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()) and os.environ.get("CI") == "true":
    pytest.fail("CI runs the browser test: .ci/run installs chromium and chromium-driver",
                pytrace=False)
if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    pytest.skip("no browser: needs /usr/bin/chromium and /usr/bin/chromedriver "
                "(apt-get install chromium chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install "
                                '-e ".[test]"')

RECORD_SOCKET = """
window.__nnTerm = "";
const NativeSocket = window.WebSocket;
const decoder = new TextDecoder();
window.WebSocket = function (url, protocols) {
  const socket = protocols === undefined ? new NativeSocket(url)
                                         : new NativeSocket(url, protocols);
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      window.__nnTerm += decoder.decode(event.data, {stream: true});
    }
  });
  return socket;
};
window.WebSocket.prototype = NativeSocket.prototype;
"""
ESCAPES = re.compile(r"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]"  # CSI: colours, cursor moves
                     r"|\][^\x07\x1b]*(\x07|\x1b\\)"  # OSC: titles, colour queries
                     r"|[()][0-9A-Za-z]|.)")  # character sets, and the rest


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """Headless Chromium with a fresh profile, recording the page's socket."""
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium's manager fetches nothing
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_SOCKET})
    yield driver
    driver.quit()


def terminal_text(driver) -> str:
    """Everything the page's terminal was sent, without escape sequences."""
    return ESCAPES.sub("", driver.execute_script("return window.__nnTerm || ''"))


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s")
        time.sleep(0.1)


def screenshot(driver, folder: Path, name: str) -> None:
    path = folder / name
    driver.save_screenshot(str(path))
    if target := os.environ.get("NN_TUI_SERVE_SCREENSHOTS"):
        shutil.copy(path, Path(target) / name)


def test_the_served_app_in_headless_chromium(tmp_path, browser):
    """The page draws the app; a key typed in the page reaches it; q ends the session
    and its process."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    server, port = start_server(tmp_path, "--root", str(tmp_path))
    try:
        fetch_page(server, f"http://127.0.0.1:{port}/?token={TOKEN}")  # it listens
        browser.get(f"http://127.0.0.1:{port}/?token={TOKEN}")
        wait_until(lambda: "1 Architecture" in terminal_text(browser)
                   and "ready" in terminal_text(browser), 60, "app in the page's terminal")
        wait_until(lambda: browser.execute_script(
            "return document.body.classList.contains('-first-byte')"), 10, "terminal shown")
        time.sleep(0.5)  # let xterm.js paint before the screenshot
        screenshot(browser, tmp_path, "served-main.png")

        browser.find_element(By.CSS_SELECTOR, ".xterm").click()  # focus the terminal
        ActionChains(browser).send_keys("?").perform()
        wait_until(lambda: "nn-tui · keys" in terminal_text(browser), 20, "help screen")
        assert "Run or pause training" in terminal_text(browser)
        time.sleep(0.5)
        screenshot(browser, tmp_path, "served-help.png")

        ActionChains(browser).send_keys(Keys.ESCAPE).perform()
        time.sleep(0.5)
        ActionChains(browser).send_keys("q").perform()
        wait_until(lambda: browser.execute_script(
            "return document.body.classList.contains('-closed')"), 20, "session end")
        if Path("/proc/self/task").is_dir():
            wait_until(lambda: not children(server.pid), 10, "end of the app process")
    finally:
        out = stop_server(server)
    assert "Traceback" not in out
