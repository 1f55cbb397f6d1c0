"""``imgconv compose`` and ``compose --check``: the YAML written, the report, the refusals.
The library side (``imgconv.algebra``) is test_algebra.py."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.signal as ss

from imgconv.kernels import load_filter


def test_compose_writes_yaml_that_loads(tmp_path: Path, cli: SimpleNamespace,
                                        ref: SimpleNamespace) -> None:
    out = tmp_path / "fg.yaml"
    cli.ok("compose", "sobel-x", "gaussian:sigma=1", "-o", out)
    k = load_filter(str(out))
    expect = ss.convolve2d(ref.kernels["sobel-x"], ref.gaussian(1.0))
    assert np.allclose(k.array, expect, atol=1e-15)
    assert "anchor:" in out.read_text() and k.center == (1 + 4, 1 + 4)
    code, _, err = cli.run("compose", "sobel-x", "box3", "-o", out)
    assert code == 2 and "already exists" in err
    code, _, err = cli.run("compose", "sobel-x", "box3", "-o", tmp_path / "x.txt")
    assert code == 2 and ".yaml" in err and not (tmp_path / "x.txt").exists()


def test_compose_check(cli: SimpleNamespace) -> None:
    out, _ = cli.ok("compose", "--check", "sobel-x", "emboss", "asym-3x3", "--json")
    res = json.loads(out)
    assert res["convolution"]["associative"] is True
    assert res["correlation"]["associative"] is False
    out, _ = cli.ok("compose", "--check", "sobel-x", "emboss")
    assert "commutative" in out
