"""A tiny Chrome DevTools Protocol client over --remote-debugging-pipe (Python standard library only).

Chromium reads commands from fd 3 and writes responses/events to fd 4, each message a JSON text
terminated by a NUL byte.
"""
import base64
import fcntl
import json
import os
import select
import subprocess
import time


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, chromium, user_data_dir, extra_args=()):
        # Pipes with fds >= 10 so that dup2 onto 3 and 4 in the child cannot clobber them.
        def high_pipe():
            r, w = os.pipe()
            hr, hw = fcntl.fcntl(r, fcntl.F_DUPFD, 10), fcntl.fcntl(w, fcntl.F_DUPFD, 10)
            os.close(r)
            os.close(w)
            return hr, hw

        self._to_child_r, self._to_child_w = high_pipe()
        self._from_child_r, self._from_child_w = high_pipe()
        to_r, from_w = self._to_child_r, self._from_child_w

        def child_fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        args = [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--mute-audio",
                "--remote-debugging-pipe", "--user-data-dir=" + user_data_dir, *extra_args, "about:blank"]
        self.stderr_path = os.path.join(user_data_dir, "chromium-stderr.log")
        os.makedirs(user_data_dir, exist_ok=True)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
                                     preexec_fn=child_fds, pass_fds=(3, 4, to_r, from_w))
        os.close(self._to_child_r)
        os.close(self._from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events = []  # (session_id, method, params)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child_w, self._from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise CDPError("timed out waiting for chromium")
            r, _, _ = select.select([self._from_child_r], [], [], left)
            if not r:
                continue
            chunk = os.read(self._from_child_r, 1 << 20)
            if not chunk:
                raise CDPError("chromium closed the debugging pipe (see %s)" % self.stderr_path)
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        self._next_id += 1
        mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def wait_event(self, method, session=None, timeout=30):
        deadline = time.time() + timeout
        for ev in self.events:
            if ev[1] == method and (session is None or ev[0] == session):
                return ev[2]
        while True:
            m = self._read_message(deadline)
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))
                if m["method"] == method and (session is None or m.get("sessionId") == session):
                    return m.get("params", {})

    def new_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session)


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.s = session
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(domain + ".enable")

    def send(self, method, params=None, timeout=30):
        return self.b.send(method, params, session=self.s, timeout=timeout)

    def navigate(self, url, timeout=60):
        self.b.events = [e for e in self.b.events if e[0] != self.s]
        self.send("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", session=self.s, timeout=timeout)

    def evaluate(self, expression, timeout=30):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise CDPError("evaluate failed: %s" % json.dumps(r["exceptionDetails"])[:500])
        return r["result"].get("value")

    def pump(self, seconds):
        """Collects events for a while (e.g. errors thrown after load)."""
        try:
            self.b.wait_event("__never__", session=self.s, timeout=seconds)
        except CDPError:
            pass

    def errors(self):
        """Console errors, uncaught exceptions and failed loads seen on this page."""
        out = []
        for sess, method, p in self.b.events:
            if sess != self.s:
                continue
            if method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s %s" % (d.get("text", ""), d.get("exception", {}).get("description", "")))
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description", "")))
                                                                 for a in p.get("args", []))))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s (%s)" % (p["entry"].get("text"), p["entry"].get("url", "")))
            elif method == "Network.loadingFailed":
                out.append("load failed: %s" % p.get("errorText"))
        return out

    def requests(self):
        return [p.get("request", {}).get("url", "") for sess, m, p in self.b.events
                if sess == self.s and m == "Network.requestWillBeSent"]

    def screenshot(self, path, width=1280, max_height=16000):
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics.get("contentSize")
        height = min(max_height, int(size["height"]) + 1)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def pdf(self, path):
        data = self.send("Page.printToPDF", {"printBackground": True}, timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
