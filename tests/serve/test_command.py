"""``advgen serve`` as a user runs it: a child process on a free port, answering, then stopped."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from advgen import cli


def _as_in_a_terminal():
    """Ctrl-C's default in the child. A background job of a non-interactive shell (``cmd &`` in a script,
    as CI may run us) starts with SIGINT ignored, the child would inherit that, and Python then never
    raises KeyboardInterrupt: this is what made the test fail in fresh-clone CI runs."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.load(r)


def test_serve_command_answers_and_ctrl_c_stops_it_within_1s_while_a_lab_job_trains(tmp_path):
    # stderr goes to a file, not a pipe nobody reads: a full pipe would block the server's exit
    with open(tmp_path / "stderr.txt", "w+") as err:
        # -X faulthandler: if Ctrl-C does not stop it, SIGABRT makes it print every thread's stack into stderr
        p = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "advgen", "serve", "--port", "0"],
                             stdout=subprocess.PIPE,
                             stderr=err, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                             preexec_fn=_as_in_a_terminal)
        stopped = None
        try:
            line = p.stdout.readline()
            m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            assert m, (line, (tmp_path / "stderr.txt").read_text())
            url = f"http://127.0.0.1:{m.group(1)}"
            with urllib.request.urlopen(f"{url}/api/info", timeout=20) as r:
                info = json.load(r)
            assert info["models"][0]["name"] == "mnist-cnn"
            assert _post(f"{url}/api/lab/start", {"client": "ctrl-c", "steps": 5000})["state"] == "running"
            end = time.monotonic() + 30
            while time.monotonic() < end:  # training is under way (its first snapshot is in)
                with urllib.request.urlopen(f"{url}/api/lab/status?client=ctrl-c", timeout=20) as r:
                    if json.load(r)["progress"] > 0:
                        break
                time.sleep(0.05)
        finally:
            start = time.monotonic()
            p.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
            try:
                code = p.wait(60)
                stopped = time.monotonic() - start
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGABRT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                code = "no exit 60 s after Ctrl-C (its threads' stacks follow)"
        assert code == 0, (code, (tmp_path / "stderr.txt").read_text()[-8000:])
        assert stopped < 1.0, f"Ctrl-C took {stopped:.2f} s to stop advgen serve while a lab job trained"


@pytest.mark.parametrize("argv", [["serve", "--port", "70000"], ["serve", "--port", "x"], ["serve", "--device", "tpu"]])
def test_serve_command_rejects_bad_flags(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2 and argv[-1] in capsys.readouterr().err
