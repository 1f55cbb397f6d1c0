"""SIGINT and SIGTERM, sent to a real ``imgconv`` process or to its process group, and
SIGKILL (docs/semantics.md §4, §5): exit 130 / 143 within 2 s, no temporary file left, the
count printed equals the outputs complete on disk (each one decodes), one line on standard
error (no traceback, no warning); what a killed run leaves is removed by the next run.

The oracles are the folder itself (listed, and every image decoded with Pillow) and the
rule for temporary names, written out here from docs/semantics.md §5.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

IMGCONV = [sys.executable, "-m", "imgconv"]
TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.(part|step\d+\.npy)", re.DOTALL)
FILES = 40
# about 0.1 s a file in one worker: the batch is still running when the signal comes
CHAIN = ["-f", "gaussian:sigma=6", "-f", "box:size=41", "-b", "wrap"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*IMGCONV, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(found: object, proc: subprocess.Popen[str], limit: float = 30.0) -> None:
    """Poll until ``found()`` is true (the process must still be running)."""
    end = time.monotonic() + limit
    while not found():  # type: ignore[operator]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _stop(proc: subprocess.Popen[str], sig: int, group: bool) -> tuple[float, str, str]:
    """Send ``sig``; the seconds until the process ended, its stdout and stderr."""
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return time.monotonic() - t0, out, err


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signals") / "photos"
    folder.mkdir()
    noise = np.random.default_rng(7).integers(0, 256, (500, 500, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "p00.png")
    for i in range(1, FILES):
        shutil.copyfile(folder / "p00.png", folder / f"p{i:02d}.png")
    return folder


@pytest.mark.parametrize(("sig", "group", "as_json"), [
    (signal.SIGTERM, False, False),
    (signal.SIGINT, False, True),
    (signal.SIGTERM, True, False),
], ids=["sigterm", "sigint-json", "sigterm-group"])
def test_batch_stops_within_2s_and_counts_what_is_on_disk(
    photos: Path, tmp_path: Path, sig: int, group: bool, as_json: bool
) -> None:
    out = tmp_path / "out"
    proc = _start(["batch", str(photos), "-o", str(out), *CHAIN, "-j", "2",
                   *(["--json"] if as_json else [])], tmp_path)
    _wait_for(lambda: out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir()),
              proc)
    seconds, stdout, stderr = _stop(proc, sig, group)
    assert proc.returncode == 128 + sig, stderr
    assert seconds < 2.0
    name = signal.Signals(sig).name
    [line] = stderr.splitlines()  # no traceback, no warning
    m = re.fullmatch(rf"imgconv: error: interrupted by {name}: (\d+) of {FILES} files written "
                     r"\(complete on disk\), no partial file left; resume with the same "
                     r"command and --skip-existing", line)
    assert m, line
    assert _hidden(out) == []
    on_disk = sorted(p.name for p in out.iterdir())
    assert int(m.group(1)) == len(on_disk) and 1 <= len(on_disk) < FILES
    for name_ in on_disk:
        with Image.open(out / name_) as im:
            im.load()
            assert im.size == (500, 500)
    if as_json:
        report = json.loads(stdout)
        assert report["error"]["exit_code"] == 130 and report["written"] == len(on_disk)
        written = sorted(Path(f["output"]).name for f in report["files"]
                         if f["status"] == "written")
        assert written == on_disk


def test_apply_in_bands_stops_and_removes_its_step_file(tmp_path: Path) -> None:
    np.save(tmp_path / "big.npy", np.random.default_rng(3).random((3000, 3000), np.float32))
    out = tmp_path / "out"
    out.mkdir()
    # three passes: the run is still going for a while after the first step file appears
    proc = _start(["apply", "big.npy", "-f", "gaussian:sigma=8", "-f", "box3", "-f",
                   "log:sigma=6", "-o", "out/r.npy", "--memory-limit", "10MB"], tmp_path)
    # the hidden step of the chain's first pass, named by the rule
    _wait_for(lambda: any(TEMP.fullmatch(n) and ".step0.npy" in n and n.startswith(".r.npy.")
                          for n in os.listdir(out)), proc)
    seconds, _, stderr = _stop(proc, signal.SIGTERM, group=False)
    assert proc.returncode == 143, stderr
    assert seconds < 2.0
    assert stderr.splitlines() == ["imgconv: error: interrupted by SIGTERM: 0 of 1 output(s) "
                                   "written; no partial file left"]
    assert os.listdir(out) == []


HOLD = """
import sys, time
from pathlib import Path
from imgconv.outputs import Temporary
target = Path(sys.argv[1])
made = [Temporary(target), Temporary(target, "step0.npy")]
print(" ".join(t.path for t in made), flush=True)
time.sleep(60)
"""


def _holder(target: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """A process writing ``target`` (its temporaries made and locked), until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    paths = proc.stdout.readline().split()
    assert len(paths) == 2 and all(os.path.exists(p) for p in paths)
    return proc, paths


def test_what_a_killed_run_left_is_removed_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    killed, left = _holder(out / "a.png")
    live, held = _holder(out / "b.png")  # a run still writing into the same folder
    try:
        killed.kill()
        killed.wait(10)
        assert all(os.path.exists(p) for p in left)  # SIGKILL: nothing could clean up
        done = subprocess.run([*IMGCONV, "apply", "a.png", "-f", "box3", "-o", "out/c.png"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert re.search(r"note: removed 2 temporary file\(s\) left by an interrupted run",
                         done.stderr)
        assert not any(os.path.exists(p) for p in left)
        assert all(os.path.exists(p) for p in held)  # never another live run's
        assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["c.png"]
    finally:
        live.kill()
        live.wait(10)


def _worker_writing(folder: Path, proc: subprocess.Popen[str]) -> int | None:
    """The pid of a batch worker holding a temporary file in ``folder`` open, if any."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == proc.pid:
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(str(folder)) and target.endswith(".part"):
                    return int(pid)
        except OSError:
            continue
    return None


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_a_killed_worker_fails_only_its_own_file(photos: Path, tmp_path: Path) -> None:
    """SIGKILL to one batch worker (out of memory, say): that file fails and its temporary
    is removed; every other file is still written by a new worker."""
    out = tmp_path / "out"
    proc = _start(["batch", str(photos), "-o", str(out), *CHAIN, "-j", "2"], tmp_path)
    victim: list[int] = []

    def found() -> bool:
        pid = _worker_writing(out, proc) if out.exists() else None
        if pid is not None:
            victim.append(pid)
        return pid is not None

    _wait_for(found, proc)
    os.kill(victim[0], signal.SIGKILL)
    so, se = proc.communicate(timeout=120)
    text = so + se
    assert proc.returncode == 1, text
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len(written) == FILES - 1, text  # every file but the killed one
    assert text.count("worker process died") == 1, text
    assert _hidden(out) == []
