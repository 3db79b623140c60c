"""The shared loss-input validator thglib.losses._checks.check."""

from __future__ import annotations

import pytest
import torch

from thglib import BadInputError
from thglib.losses._checks import check


def test_binds_names_fixed_sizes_and_ellipsis():
    x, m = torch.zeros(2, 3, 4, 5), torch.zeros(2, 1, 4, 5)
    assert check(x=(x, "B C H W"), m=(m, "B 1 H W")) == {"B": 2, "C": 3, "H": 4, "W": 5}
    assert check(a=(x, "B ..."), b=(torch.zeros(2, 3, 4, 5), "B ..."))["..."] == (3, 4, 5)
    assert check(a=(x, "B ... W"))["W"] == 5
    assert check(w=(torch.zeros(68), ("K", "B K")), p=(torch.zeros(2, 68, 3), "B K D"))["K"] == 68


@pytest.mark.parametrize("bad, fragment", [
    (torch.zeros(2, 3, 4, 6), "W=5 (from 'x')"),
    (torch.zeros(3, 3, 4, 5), "B=2 (from 'x')"),
    (torch.zeros(2, 3, 4), "got (2, 3, 4)"),
])
def test_shape_errors_name_the_argument_and_the_binding(bad, fragment):
    with pytest.raises(BadInputError) as e:
        check(x=(torch.zeros(2, 3, 4, 5), "B C H W"), y=(bad, "B C H W"))
    assert e.value.what == "y" and fragment in str(e.value)


def test_ellipsis_must_agree_and_size_one_is_not_broadcast():
    with pytest.raises(BadInputError, match="^b:"):
        check(a=(torch.zeros(2, 3, 4), "B ..."), b=(torch.zeros(2, 3, 1), "B ..."))
    with pytest.raises(BadInputError, match="^m:"):
        check(x=(torch.zeros(2, 3, 4, 5), "B C H W"), m=(torch.zeros(2, 1, 4, 5), "B C H W"))


def test_type_dtype_and_device_errors():
    with pytest.raises(BadInputError, match="^x: expected a torch.Tensor, got list"):
        check(x=([1.0], "B"))
    with pytest.raises(BadInputError, match="^x: expected a floating-point tensor, got dtype torch.int64"):
        check(x=(torch.zeros(2, dtype=torch.long), "B"))
    with pytest.raises(BadInputError, match="^y: is torch.float32 on cpu but 'x' is torch.float64"):
        check(x=(torch.zeros(2, dtype=torch.float64), "B"), y=(torch.zeros(2), "B"))
