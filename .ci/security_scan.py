"""Scan the demo with wapiti, as an attacker's scanner would, and fail on any finding
that is not explained below.

Usage: ``hatch run scan:wapiti [--keep DIR]``. The demo runs on a free loopback port with
a fresh instance folder, rate limits off (the scanner sends thousands of requests, and a
429 hides what it probes) and the login's brute-force limits out of reach (its hundreds of
failed logins from one address would lock it out partway, and the "try again later" page
differing from "wrong password" reads to wapiti's blind SQL probe as a condition it
controls), logged in as the demo user for the pages behind the login.
The report (JSON) is written to the instance folder, or to ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

EXPLAINED = {
    ("Secure Flag cookie", "session"): (
        "the development server speaks plain HTTP, where a Secure cookie would never come "
        "back; `hatch run demo:prod` sets SESSION_COOKIE_SECURE, as any HTTPS deployment must"
    ),
}
"""Findings that stay, keyed by (category, the cookie or parameter named), with the reason."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(path: Path, port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the demo exited with {server.returncode} before it answered")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if path.exists():
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("the demo did not answer within 120 s")


def finding_key(category: str, finding: dict[str, t.Any]) -> tuple[str, str]:
    info = str(finding.get("info", ""))
    subject = info.rsplit(":", 1)[-1].strip() if ":" in info else str(finding.get("parameter"))
    return category, subject


def scan(workdir: Path) -> int:
    instance = workdir / "instance"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(
        os.environ,
        FLASK_RATELIMIT_ENABLED="false",
        FLASK_AUTH_MAX_FAILURES="1000000",
        FLASK_AUTH_MAX_FAILURES_PER_ADDRESS="1000000",
    )
    app = f"flask_plug_demo:create_app(instance_path={str(instance)!r})"
    command = [sys.executable, "-m", "flask", "--app", app, "run", "--port", str(port)]
    server_log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        passwords = instance / "first-run-passwords.txt"
        wait_for(passwords, port, server)
        password = next(
            line.split()[1]
            for line in passwords.read_text().splitlines()
            if line.split()[:1] == ["demo"]
        )
        report = workdir / "wapiti.json"
        # fmt: off
        subprocess.run(
            [
                "wapiti", "--url", url, "--scope", "folder", "--flush-session",
                "--max-scan-time", "600", "--format", "json", "--output", str(report),
                "--form-url", url + "auth/login", "--form-user", "demo",
                "--form-password", password, "--verbose", "0",
            ],
            check=True,
        )
        # fmt: on
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
    return judge(json.loads(report.read_text()), (workdir / "server.log").read_text())


def judge(report: dict[str, t.Any], server_log: str) -> int:
    unexplained = 0
    sections = {**report["vulnerabilities"], **report.get("anomalies", {})}
    for category, findings in sections.items():
        for finding in findings:
            key = finding_key(category, finding)
            where = f"{finding['method']} {finding['path']}"
            if key in EXPLAINED:
                print(f"explained  {category} ({key[1]}) at {where}: {EXPLAINED[key]}")
            else:
                unexplained += 1
                print(f"FINDING    {category} at {where}: {finding['info']}")
    errors = server_log.count('" 500 ')
    if errors:
        print(f"FINDING    the demo answered 500 to {errors} requests (see server.log)")
    crawled = report["infos"].get("crawled_pages_nbr")
    print(f"{crawled} pages crawled; {unexplained} unexplained findings; {errors} errors")
    return 1 if unexplained or errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="a folder to keep the report and logs in")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return scan(args.keep)
    with tempfile.TemporaryDirectory(prefix="wapiti-") as workdir:
        return scan(Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
