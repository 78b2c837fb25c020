#!/usr/bin/env python3
"""Browser test of bankd's web UI: Selenium driving headless Chromium.

Usage:
  python3 Tools/ui_test.py --bankd PATH_TO_BANKD [--web-root DIR] [--screenshots DIR]
                           [--bankctl PATH] [--only FLOW[,FLOW…]] [--sizes desktop,phone]

It makes a temporary store, starts bankd on it with --demo --port 0 --event-port 0, and runs
every flow at desktop (1280x900) and phone (375x812) sizes:

  login-error  a wrong password is refused in words, in an element with role="alert"
  customer     C000001: balances, history paging, a transfer that changes the balance, a
               double-clicked transfer that pays once (checked through the API), log out
  teller       tina (logging in on the home page, routed by role): register a customer, open an
               account, deposit, withdraw, a refusal in words, look up an account and a customer
  fleet        mark: ATM-01 with its cassettes, cash, forecast and open alerts; the event log
               live from /v1/events — a new alert reported on the ATM event socket appears
               without a reload (needs bankctl, found next to bankd or given with --bankctl, to
               register the terminal's key; without it the test checks the stream stays live)

Each page is also checked for horizontal scrolling at 375 px, for script errors and for
Content-Security-Policy violations. A PASS/FAIL line is printed per flow and size; a failure
saves a screenshot (and the browser log) to the screenshots directory. The exit status is 0 only
when every flow passed. bankd is stopped at the end, also after a failure.

Needs: pip install selenium; apt-get install chromium chromium-driver.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from decimal import Decimal

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover
    sys.exit("ui_test: needs selenium (pip install selenium)")

CUSTOMER = ("C000001", "analytical engine 1843")
OTHER_CUSTOMER = "C000002"
TELLER = ("tina", "service desk 2026 blue")
MANAGER = ("mark", "approvals desk 2026 green")
SIZES = {"desktop": (1280, 900, False), "phone": (375, 812, True)}
WAIT = 15  # seconds for any one thing to appear


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# MARK: bankd


class Bankd:
    """bankd on a temporary store: started with --demo, stopped with SIGTERM."""

    def __init__(self, binary, web_root, bankctl, workdir):
        self.binary = binary
        self.web_root = web_root
        self.bankctl = bankctl
        self.store = os.path.join(workdir, "bank.journal")
        self.log_path = os.path.join(workdir, "bankd.log")
        self.process = None
        self.base = None
        self.event_port = None
        self.terminal_key = None
        self.lines = []

    def prepare(self):
        """With bankctl: the demo store made first, and ATM-01 registered for the event socket
        (bankd --demo then leaves the existing store as it is)."""
        if not self.bankctl:
            return
        env = dict(os.environ, BANKCTL_SESSION="")
        run = lambda *args: subprocess.run(  # noqa: E731
            [self.bankctl, "--store", self.store, *args],
            capture_output=True, text=True, timeout=120, env=env)
        demo = run("demo")
        if demo.returncode != 0:
            raise Failure("bankctl demo failed: " + demo.stderr.strip()[-500:])
        reg = run("--json", "atm", "register", "--terminal", "ATM-01")
        if reg.returncode != 0:
            raise Failure("bankctl atm register failed: " + reg.stderr.strip()[-500:])
        self.terminal_key = json.loads(reg.stdout)["key"]

    def start(self):
        args = [self.binary, "--store", self.store, "--demo", "--port", "0", "--event-port", "0",
                "--host", "127.0.0.1"]
        if self.web_root:
            args += ["--web-root", self.web_root]
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True)
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"bankd events on tcp://[^\s]*:(\d+)", line)
                if m:
                    self.event_port = int(m.group(1))
                m = re.search(r"bankd listening on (https?://[^\s/]+)", line)
                if m:
                    self.base = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(120) or not self.base:
            raise Failure("bankd did not start: " + " | ".join(self.lines[-5:]) + self.log_tail())

    def log_tail(self, n=15):
        try:
            with open(self.log_path) as f:
                return "\n" + "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class API:
    """Direct calls to bankd, to check what the browser did."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        def decode(text):
            try:
                return json.loads(text) if text else None
            except ValueError:
                return text
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, decode(response.read().decode())
        except urllib.error.HTTPError as e:
            return e.code, decode(e.read().decode())

    def login(self, who, password, staff=False):
        status, body = self.call(
            "POST", "/v1/sessions", {("staff" if staff else "customer"): who, "password": password})
        check(status == 201, "API login of %s failed: %s %s" % (who, status, body))
        return body["session"]

    def get(self, path, token):
        status, body = self.call("GET", path, token=token)
        check(status == 200, "GET %s: %s %s" % (path, status, body))
        return body


def report_event(port, terminal, key, kind, detail):
    """One event reported on the ATM event socket, as a terminal does."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rw", encoding="utf-8", newline="\n")
        f.write(json.dumps({"hello": terminal, "key": key}) + "\n")
        f.flush()
        hello = json.loads(f.readline())
        check(hello.get("ok"), "event socket hello refused: %s" % hello)
        f.write(json.dumps({"type": kind, "detail": detail}) + "\n")
        f.flush()
        answer = json.loads(f.readline())
        check(answer.get("ok"), "event socket report refused: %s" % answer)
        return answer.get("event")


# MARK: Browser


def make_driver():
    options = Options()
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(path):
            options.binary_location = path
            break
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--disable-extensions", "--no-first-run", "--disable-background-networking",
              "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(a)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    return driver


def set_size(driver, size):
    width, height, mobile = SIZES[size]
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


class Page:
    """Helpers over one Selenium driver."""

    def __init__(self, driver, base):
        self.d = driver
        self.base = base

    def open(self, path, fresh=True):
        self.d.get(self.base + path)
        if fresh:
            self.d.execute_script("sessionStorage.clear();")
            self.d.get(self.base + path)

    def wait(self, what, predicate, timeout=WAIT):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: predicate())
        except TimeoutException:
            raise Failure("timed out waiting for " + what)

    def find(self, element_id):
        return self.d.find_element(By.ID, element_id)

    def exists(self, element_id):
        return bool(self.d.find_elements(By.ID, element_id))

    def visible(self, element_id):
        found = self.d.find_elements(By.ID, element_id)
        return bool(found) and found[0].is_displayed()

    def wait_visible(self, element_id, timeout=WAIT):
        self.wait("#" + element_id + " to show", lambda: self.visible(element_id), timeout)
        return self.find(element_id)

    def text(self, element_id):
        found = self.d.find_elements(By.ID, element_id)
        return found[0].text.strip() if found else ""

    def attr(self, element_id, name):
        found = self.d.find_elements(By.ID, element_id)
        return found[0].get_attribute(name) if found else None

    def wait_text(self, element_id, error_id=None, timeout=WAIT):
        """The text of an element once it has some; fails at once when `error_id` shows an
        error instead."""
        def ready():
            if error_id and self.text(error_id):
                raise Failure("#%s says: %s" % (error_id, self.text(error_id)))
            return self.text(element_id) != ""
        self.wait("text in #" + element_id, ready, timeout)
        return self.text(element_id)

    def fill(self, element_id, value):
        field = self.find(element_id)
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
        field.clear()
        field.send_keys(value)

    def click(self, element_id):
        button = self.find(element_id)
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        self.wait("#" + element_id + " to be enabled", lambda: button.is_enabled())
        button.click()

    def login(self, who, password):
        self.wait_visible("login-form")
        self.fill("login-id", who)
        self.fill("login-password", password)
        self.click("login-submit")

    def check_no_horizontal_scroll(self, where):
        width, client = self.d.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
        viewport = self.d.execute_script("return window.innerWidth;")
        check(width <= max(client, viewport),
              "%s: the page scrolls sideways (scrollWidth %s > width %s)" % (where, width, client))
        if viewport <= 400:
            check(width <= 375, "%s: scrollWidth %s > 375 at phone size" % (where, width))

    def check_page(self, where):
        """No sideways scrolling; a label for every field; nothing inline that the CSP refuses."""
        self.check_no_horizontal_scroll(where)
        unlabeled = self.d.execute_script("""
            return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
              .filter(f => !f.labels || f.labels.length === 0).map(f => f.id || f.name);""")
        check(not unlabeled, "%s: fields without a label: %s" % (where, unlabeled))
        inline = self.d.execute_script("""
            const all = Array.from(document.querySelectorAll('*'));
            return all.filter(e => e.hasAttribute('style')
                || (e.tagName === 'SCRIPT' && !e.src)
                || Array.from(e.attributes).some(a => /^on/i.test(a.name)))
              .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''));""")
        check(not inline, "%s: inline style, script or handler: %s" % (where, inline[:5]))

    def check_alert(self, element_id, pattern, what):
        """An error in words, in an element with role="alert" that a person can see."""
        text = self.wait_text(element_id)
        check(self.attr(element_id, "role") == "alert", "#%s is not role=alert" % element_id)
        check(self.visible(element_id), "#%s is not visible" % element_id)
        check(re.search(pattern, text, re.I),
              "%s: expected words matching /%s/, got %r" % (what, pattern, text))
        check(not text.lstrip().startswith("{"), "%s: raw JSON shown: %r" % (what, text))
        return text

    def browser_problems(self):
        """Script errors and CSP violations in the browser log since the last call."""
        problems = []
        try:
            entries = self.d.get_log("browser")
        except WebDriverException:
            return problems
        for e in entries:
            message = e.get("message", "")
            if "Content Security Policy" in message or "Uncaught" in message or (
                    e.get("level") == "SEVERE" and "Failed to load resource" not in message):
                problems.append(message)
        return problems

    def session_token(self):
        raw = self.d.execute_script("return sessionStorage.getItem('bankd.session');")
        return json.loads(raw)["session"] if raw else None


def amount_of(page, element_id):
    value = page.attr(element_id, "data-amount")
    check(value is not None, "#%s has no data-amount" % element_id)
    return Decimal(value)


# MARK: Flows


def flow_login_error(page, api, ctx, size):
    page.open("/customer.html")
    page.wait_visible("login-form")
    # By keyboard: type the ID, Tab to the password (its focus is visible), Enter submits.
    page.find("login-id").click()
    page.d.switch_to.active_element.send_keys(OTHER_CUSTOMER, Keys.TAB)
    focused = page.d.switch_to.active_element
    check(focused.get_attribute("id") == "login-password", "Tab did not reach the password")
    outline = page.d.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;")
    check(outline, "the focused field shows no visible focus outline")
    focused.send_keys("not the password " + secrets.token_hex(3), Keys.ENTER)
    page.check_alert("login-error", r"refused|wrong password", "wrong password")
    check(not page.visible("app"), "the accounts show after a wrong password")
    check(page.session_token() is None, "a session was stored after a wrong password")
    # A form problem is also shown in words, without a call.
    page.fill("login-id", "")
    page.click("login-submit")
    page.check_alert("login-error", r"required", "empty customer ID")
    page.check_page("login page")


def flow_customer(page, api, ctx, size):
    who, password = CUSTOMER
    token = api.login(who, password)
    numbers = api.get("/v1/customers/" + who, token)["accounts"]
    check(len(numbers) >= 2, "C000001 needs two accounts, has %s" % numbers)

    page.open("/customer.html")
    page.login(who, password)
    page.wait_visible("app")
    for n in numbers:
        page.wait_visible("balance-" + n)
        shown = amount_of(page, "balance-" + n)
        real = Decimal(api.get("/v1/accounts/" + n, token)["balance"])
        check(shown == real, "balance of %s shows %s, the API says %s" % (n, shown, real))
        check(page.text("balance-" + n) != "", "balance of %s shows no text" % n)
    page.check_page("customer page")

    # History paging on the account with the most movements.
    def first_page(n):
        return api.get("/v1/accounts/%s/history?limit=10" % n, token)
    paged = [n for n in numbers if first_page(n)["next"]]
    check(paged, "no account of C000001 has more than one page of history")
    account = paged[0]
    page1 = first_page(account)
    page2 = api.get("/v1/accounts/%s/history?limit=10&before=%s" % (account, page1["next"]), token)

    def rows():
        return page.d.execute_script(
            "return Array.from(document.querySelectorAll('#history-rows tr[data-transfer]'))"
            ".map(r => r.dataset.transfer);")

    Select(page.find("history-account")).select_by_value(account)
    want1 = [e["transfer"] for e in page1["entries"]]
    want2 = [e["transfer"] for e in page2["entries"]]
    page.wait("history page 1 of %s" % account, lambda: rows() == want1)
    check(not page.find("history-newer").is_enabled(), "Newer is enabled on the first page")
    page.click("history-older")
    page.wait("history page 2 of %s" % account, lambda: rows() == want2)
    page.wait("Newer to be enabled", lambda: page.find("history-newer").is_enabled())
    check("2" in page.text("history-position"), "the position does not say page 2")
    page.click("history-newer")
    page.wait("history page 1 again", lambda: rows() == want1)
    page.check_page("customer history")

    # A transfer: the balance on the page changes by the amount.
    source, target = numbers[0], numbers[1]
    before = Decimal(api.get("/v1/accounts/" + source, token)["balance"])
    Select(page.find("history-account")).select_by_value(source)
    Select(page.find("transfer-from")).select_by_value(source)
    amount = Decimal("1.25") if size == "desktop" else Decimal("1.35")
    memo = "ui %s %s" % (size, secrets.token_hex(4))
    page.fill("transfer-to", target)
    page.fill("transfer-amount", str(amount))
    page.fill("transfer-memo", memo)
    key1 = page.attr("transfer-form", "data-key")
    page.click("transfer-submit")
    page.wait_text("transfer-receipt", "transfer-error")
    page.wait("the balance of %s to drop by %s" % (source, amount),
              lambda: amount_of(page, "balance-" + source) == before - amount)
    after = Decimal(api.get("/v1/accounts/" + source, token)["balance"])
    check(after == before - amount, "API balance %s, expected %s" % (after, before - amount))
    page.wait("the transfer in the history",
              lambda: memo in page.text("history-rows"))
    key2 = page.attr("transfer-form", "data-key")
    check(key1 and key2 and key1 != key2, "the Idempotency-Key did not change after a success")

    # Paying once: a real double click, two clicks in one go, and a retry after a lost answer
    # each make exactly one transfer (checked through the API: one movement with the memo, the
    # balance down by one amount).
    def pay_once(how, act, amount_text):
        before = Decimal(api.get("/v1/accounts/" + source, token)["balance"])
        memo = "ui %s %s %s" % (how, size, secrets.token_hex(4))
        page.fill("transfer-to", target)
        page.fill("transfer-amount", amount_text)
        page.fill("transfer-memo", memo)
        old = page.find("transfer-receipt") if page.exists("transfer-receipt") else None
        submit = page.find("transfer-submit")
        page.d.execute_script("arguments[0].scrollIntoView({block: 'center'});", submit)
        act(submit)
        page.wait("a new receipt (%s)" % how, lambda: page.exists("transfer-receipt")
                  and page.find("transfer-receipt") != old)
        page.wait("the form to be ready again", lambda: page.find("transfer-submit").is_enabled())
        time.sleep(0.3)
        history = api.get("/v1/accounts/%s/history?limit=50" % source, token)["entries"]
        made = [e for e in history if e.get("memo") == memo]
        check(len(made) == 1, "%s made %d transfers, not 1" % (how, len(made)))
        after = Decimal(api.get("/v1/accounts/" + source, token)["balance"])
        want = before - Decimal(amount_text)
        check(after == want, "after %s the balance is %s, expected %s" % (how, after, want))
        page.wait("the page balance after " + how, lambda: amount_of(page, "balance-" + source) == after)

    pay_once("a double click", lambda b: ActionChains(page.d).double_click(b).perform(), "2.00")
    pay_once("two quick clicks",
             lambda b: page.d.execute_script("arguments[0].click(); arguments[0].click();", b), "2.10")

    def lose_answer_then_retry(button):
        # The first POST reaches the bank but its answer is lost (as on a dropped connection);
        # the person clicks again: the same Idempotency-Key replays instead of paying twice.
        page.d.execute_script("""
            const real = window.fetch;
            let lost = false;
            window.fetch = async function (url, options) {
              const response = await real.apply(this, arguments);
              if (!lost && String(url).endsWith('/v1/transfers')) {
                lost = true;
                throw new TypeError('Failed to fetch');
              }
              return response;
            };""")
        button.click()
        page.check_alert("transfer-error", r"could not be reached", "a lost answer")
        page.click("transfer-submit")
        text = page.wait_text("transfer-receipt", "transfer-error")
        check("already" in text, "the retry was not a replay: %r" % text)

    pay_once("a retry after a lost answer", lose_answer_then_retry, "2.20")

    # A refusal by the bank, in words.
    page.fill("transfer-to", target)
    page.fill("transfer-amount", "99999999.00")
    page.fill("transfer-memo", "")
    page.click("transfer-submit")
    page.check_alert("transfer-error", r"available|insufficient|funds", "an overdrawing transfer")
    page.check_page("customer page after transfers")

    # The teller desk is not for customers: it says so in words, and the session stays.
    page.open("/teller.html", fresh=False)
    page.wait_visible("wrong-role")
    check("customer" in page.text("wrong-role-message"), "no wrong-role message on the teller desk")
    check(not page.visible("app"), "the teller desk shows to a customer")
    page.open("/customer.html", fresh=False)
    page.wait_visible("balance-" + source)

    # Log out: the session ends on the server too.
    browser_token = page.session_token()
    check(browser_token, "no session in sessionStorage")
    page.click("logout")
    page.wait_visible("login-form")
    check(page.session_token() is None, "the session is still stored after logging out")
    status, _ = api.call("GET", "/v1/customers/" + who, token=browser_token)
    check(status == 401, "the logged-out session still works (HTTP %s)" % status)
    api.call("DELETE", "/v1/sessions/current", token=token)


def flow_teller(page, api, ctx, size):
    who, password = TELLER
    token = api.login(who, password, staff=True)
    # Logging in on the home page as staff routes to the teller desk.
    page.open("/")
    page.wait_visible("login-form")
    page.click("login-kind-staff")
    page.login(who, password)
    page.wait("the teller desk", lambda: page.d.current_url.endswith("/teller.html"))
    page.wait_visible("app")
    page.check_page("teller desk")

    # Register a customer.
    tag = secrets.token_hex(3)
    page.fill("register-name", "UI Test %s %s" % (size.title(), tag))
    page.fill("register-email", "ui-%s-%s@example.com" % (size, tag))
    page.fill("register-phone", "+1415555%04d" % (int(tag, 16) % 10000))
    page.fill("register-age", "34")
    page.fill("register-gender", "")
    page.fill("register-password", "correct horse battery staple 2026")
    page.click("register-submit")
    customer = page.wait_text("register-customer-id", "register-error")
    first = page.wait_text("register-account")
    check(re.fullmatch(r"C\d{6}", customer), "new customer ID %r" % customer)
    check(re.fullmatch(r"\d{4}-\d{4}-\d", first), "new account number %r" % first)
    details = api.get("/v1/customers/" + customer, token)
    check(details["accounts"] == [first], "API accounts %s, page said %s" % (details["accounts"], first))

    # Open a second account for them.
    page.fill("open-customer", customer)
    Select(page.find("open-type")).select_by_value("savings")
    page.click("open-submit")
    opened = page.wait_text("open-account-number", "open-error")
    check(re.fullmatch(r"\d{4}-\d{4}-\d", opened), "opened account number %r" % opened)
    details = api.get("/v1/customers/" + customer, token)
    check(opened in details["accounts"], "the opened account %s is not the customer's" % opened)
    check(api.get("/v1/accounts/" + opened, token)["type"] == "savings", "not a savings account")

    # Deposit, then withdraw.
    page.fill("deposit-account", opened)
    page.fill("deposit-amount", "100.00")
    page.fill("deposit-memo", "ui deposit")
    page.click("deposit-submit")
    check("100.00" in page.wait_text("deposit-balance", "deposit-error"), "deposit balance: %r" % page.text("deposit-balance"))
    page.fill("withdraw-account", opened)
    page.fill("withdraw-amount", "40.00")
    page.click("withdraw-submit")
    check("60.00" in page.wait_text("withdraw-balance", "withdraw-error"), "withdraw balance: %r" % page.text("withdraw-balance"))
    real = Decimal(api.get("/v1/accounts/" + opened, token)["balance"])
    check(real == Decimal("60.00"), "API balance after deposit and withdrawal: %s" % real)

    # A refusal in words.
    page.fill("withdraw-account", opened)
    page.fill("withdraw-amount", "1000.00")
    page.click("withdraw-submit")
    page.check_alert("withdraw-error", r"available|insufficient|funds", "an overdrawing withdrawal")

    # Look up the account, then the customer.
    page.fill("lookup-query", opened)
    page.click("lookup-submit")
    page.wait_visible("lookup-balance")
    check(amount_of(page, "lookup-balance") == Decimal("60.00"),
          "lookup balance %s" % page.attr("lookup-balance", "data-amount"))
    for field in ("lookup-available", "lookup-pending", "lookup-status", "lookup-type"):
        check(page.text(field), "the lookup shows no %s" % field)
    page.fill("lookup-query", customer)
    page.click("lookup-submit")
    page.wait_visible("lookup-customer-view")
    page.wait("both accounts in the customer lookup",
              lambda: first in page.text("lookup-accounts") and opened in page.text("lookup-accounts"))
    page.check_page("teller desk after the flows")
    page.click("logout")
    page.wait_visible("login-form")
    api.call("DELETE", "/v1/sessions/current", token=token)


def flow_fleet(page, api, ctx, size):
    who, password = MANAGER
    token = api.login(who, password, staff=True)
    atm = api.get("/v1/atms/ATM-01", token)
    page.open("/fleet.html")
    page.login(who, password)
    page.wait_visible("terminal-ATM-01")
    cassettes = page.d.find_elements(By.CSS_SELECTOR, "#cassettes-ATM-01 tbody tr[data-denomination]")
    check(len(cassettes) == len(atm["cassettes"]) and cassettes,
          "%d cassette rows, the API has %d" % (len(cassettes), len(atm["cassettes"])))
    check(amount_of(page, "cash-ATM-01") == Decimal(atm["cash"]), "cash differs from the API")
    status = page.text("status-ATM-01")
    check(status == ("In service" if atm["in_service"] else "Out of service"), "status %r" % status)
    table = page.text("cassettes-ATM-01")
    check(atm["cassettes"][0]["per_day"] in table, "the forecast (per day) is not shown")
    page.wait("the stream to be live", lambda: page.text("stream-status") == "live")
    page.wait("the event log", lambda: len(page.d.find_elements(By.CSS_SELECTOR, "#event-log li")) > 0)
    page.wait("the open alerts count", lambda: page.text("alerts-count-ATM-01") != "")
    alerts_before = int(page.text("alerts-count-ATM-01"))
    page.check_page("fleet page")

    if ctx.get("terminal_key") and ctx.get("event_port"):
        # A new alert, reported by the terminal on the event socket, appears live.
        detail = "maintenance: ui test %s %s" % (size, secrets.token_hex(3))
        seq = report_event(ctx["event_port"], "ATM-01", ctx["terminal_key"], "alert", detail)
        page.wait("event %s in the live log" % seq, lambda: page.exists("event-%s" % seq), timeout=20)
        check(detail in page.text("event-%s" % seq), "the live event row lacks its detail")
        page.wait("the open alerts to count the new alert",
                  lambda: page.text("alerts-count-ATM-01") == str(alerts_before + 1))
        check(detail in page.text("alerts-ATM-01"), "the new alert is not listed as open")
        ctx["live"] = "live event seen"
    else:
        time.sleep(2)
        check(page.text("stream-status") == "live", "the event stream did not stay connected")
        ctx["live"] = "stream live (no bankctl: no new event made)"
    page.check_page("fleet page after the event")
    page.click("logout")
    page.wait_visible("login-form")
    api.call("DELETE", "/v1/sessions/current", token=token)


FLOWS = [
    ("login-error", flow_login_error),
    ("customer", flow_customer),
    ("teller", flow_teller),
    ("fleet", flow_fleet),
]


# MARK: Main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bankd", required=True, help="the bankd binary")
    parser.add_argument("--web-root", help="serve the UI from this folder (bankd --web-root)")
    parser.add_argument("--screenshots", help="where failure screenshots go (default: a temp dir)")
    parser.add_argument("--bankctl", help="bankctl, to register ATM-01's event-socket key "
                        "(default: next to bankd, if there)")
    parser.add_argument("--only", help="comma-separated flows to run")
    parser.add_argument("--sizes", default="desktop,phone", help="comma-separated: desktop, phone")
    args = parser.parse_args()

    started = time.monotonic()
    bankd_path = os.path.abspath(args.bankd)
    check_file = lambda p: os.path.isfile(p) and os.access(p, os.X_OK)  # noqa: E731
    if not check_file(bankd_path):
        sys.exit("ui_test: no bankd at %s" % bankd_path)
    bankctl = args.bankctl or os.path.join(os.path.dirname(bankd_path), "bankctl")
    if not check_file(bankctl):
        if args.bankctl:
            sys.exit("ui_test: no bankctl at %s" % args.bankctl)
        bankctl = None
    web_root = os.path.abspath(args.web_root) if args.web_root else None
    workdir = tempfile.mkdtemp(prefix="bankd-ui-")
    shots = os.path.abspath(args.screenshots or os.path.join(workdir, "screenshots"))
    os.makedirs(shots, exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else None
    sizes = [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in SIZES:
            sys.exit("ui_test: unknown size %s" % s)

    server = Bankd(bankd_path, web_root, bankctl, workdir)
    driver = None
    results = []
    keep = False
    try:
        server.prepare()
        server.start()
        print("bankd on %s (events on port %s)%s" % (
            server.base, server.event_port, "" if bankctl else "; no bankctl: no live event made"))
        api = API(server.base)
        status, _ = api.call("GET", "/customer.html")
        if status != 200:
            raise Failure("bankd serves no web UI at /customer.html (HTTP %s): pass --web-root "
                          "DIR, or rebuild bankd with the UI" % status)
        ctx = {"terminal_key": server.terminal_key, "event_port": server.event_port}
        driver = make_driver()
        page = Page(driver, server.base)
        for size in sizes:
            set_size(driver, size)
            for name, flow in FLOWS:
                if wanted and name not in wanted:
                    continue
                label = "%s @ %s" % (name, size)
                t0 = time.monotonic()
                page.browser_problems()  # forget older log lines
                try:
                    flow(page, api, ctx, size)
                    problems = page.browser_problems()
                    check(not problems, "browser errors: " + " | ".join(problems[:3]))
                    extra = " (%s)" % ctx.pop("live") if "live" in ctx else ""
                    print("PASS %-22s %5.1fs%s" % (label, time.monotonic() - t0, extra), flush=True)
                    results.append(True)
                except Exception as e:  # noqa: BLE001 — any failure is this flow's
                    keep = True
                    shot = os.path.join(shots, "%s-%s.png" % (name, size))
                    try:
                        driver.save_screenshot(shot)
                        with open(shot[:-4] + ".log", "w") as f:
                            f.write("url: %s\n" % driver.current_url)
                            for entry in page.browser_problems():
                                f.write(entry + "\n")
                            f.write("\n" + traceback.format_exc())
                    except WebDriverException:
                        shot = "(no screenshot)"
                    why = str(e) if isinstance(e, Failure) else "%s: %s" % (type(e).__name__, e)
                    print("FAIL %-22s %5.1fs %s [screenshot: %s]" % (
                        label, time.monotonic() - t0, why.splitlines()[0] if why else "", shot),
                        flush=True)
                    if not isinstance(e, Failure):
                        traceback.print_exc()
                    results.append(False)
                    # The next flow starts from a clean page.
                    try:
                        driver.get(server.base + "/index.html")
                        driver.execute_script("sessionStorage.clear();")
                    except WebDriverException:
                        pass
    except Failure as e:
        print("FAIL setup: %s" % e, flush=True)
        results.append(False)
        keep = True
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        server.stop()
        if keep:
            print("bankd log:%s" % server.log_tail(), file=sys.stderr)

    passed = sum(results)
    ok = bool(results) and all(results)
    print("%s: %d of %d flows passed in %.1fs" % (
        "PASS" if ok else "FAIL", passed, len(results), time.monotonic() - started))
    if not ok:
        print("screenshots: %s; store and bankd log kept in %s" % (shots, workdir))
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
