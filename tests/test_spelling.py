"""Did-you-mean, one rule (imgconv.spelling) for boundary modes, names, keys and methods."""

from __future__ import annotations

import pytest

from imgconv import boundary as bd
from imgconv.errors import ImgconvError
from imgconv.spelling import closest, did_you_mean


@pytest.mark.parametrize(("bad", "hint"), [
    ("constantt", "constant"), ("reflct", "reflect"), ("Replicat", "replicate"),
    ("border_wrp", "border_wrap"),
])
def test_boundary_mode_suggests_the_closest_name(bad: str, hint: str) -> None:
    with pytest.raises(ImgconvError, match=f"did you mean '{hint}'\\? use one of"):
        bd.boundary_mode(bad)


def test_boundary_mode_far_from_every_name_gets_no_hint() -> None:
    with pytest.raises(ImgconvError) as info:
        bd.boundary_mode("bogus")
    assert "did you mean" not in str(info.value)


def test_closest_and_its_cutoff() -> None:
    assert closest("sgima", ["sigma", "size"]) == "sigma"
    assert closest("zzz", ["sigma", "size"]) is None
    assert did_you_mean("Kernal", ["kernel", "name"]) == " (did you mean 'kernel'?)"
    assert did_you_mean("bogus", ["kernel", "name"]) == ""
