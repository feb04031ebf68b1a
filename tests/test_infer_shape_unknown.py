"""The shape checks of the contract (op_host/dcnv3_contract.h ValidateShapes) as InferShape runs
them, compiled with g++ (no CANN needed). ATC calls InferShape with GE's placeholders when a
graph's shapes are known only at run time (dynamic batch, image size or shape ranges): -1 for a
size, {-2} for an unknown rank. The output then takes each size from whichever input knows it;
known sizes still have to agree. Everywhere else negative sizes are refused."""

import dataclasses
import subprocess

import pytest
from cpp_driver import build_driver

from dcnv3_ascend.attrs import Dcnv3Attrs

# InternImage-T's first stage: 3x3, pad 1, 4 groups of 16 channels (offset 72, mask 36 a position).
ATTRS = Dcnv3Attrs(kernel_h=3, kernel_w=3, pad_h=1, pad_w=1, group=4, group_channels=16)
STRIDE_2 = dataclasses.replace(ATTRS, stride_h=2, stride_w=2)
UNKNOWN_RANK = [-2]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return build_driver(tmp_path_factory, "contract_shapes_main.cc", ["op_host"])


def infer(driver, *shapes, attrs=ATTRS, unknown=True):
    """The output shape as a list, or the error message."""
    values = ",".join(str(v) for v in dataclasses.astuple(attrs))
    args = [str(driver), *(["--unknown"] if unknown else []), values, *(",".join(map(str, s)) for s in shapes)]
    result = subprocess.run(args, capture_output=True, text=True)
    line = result.stdout.strip()
    if result.returncode == 1:
        assert line.startswith("error: "), result
        return line[len("error: ") :]
    assert result.returncode == 0 and line.startswith("output="), result
    return [int(v) for v in line[len("output=") :].split(",")]


@pytest.mark.parametrize("unknown", [False, True])
def test_known_shapes_give_the_output_shape(driver, unknown):
    assert infer(driver, [2, 56, 56, 64], [2, 56, 56, 72], [2, 56, 56, 36], unknown=unknown) == [2, 56, 56, 64]
    assert infer(driver, [1, 56, 56, 64], [1, 28, 28, 72], [1, 28, 28, 36], attrs=STRIDE_2) == [1, 28, 28, 64]


@pytest.mark.parametrize(
    ("shapes", "output"),
    [
        # dynamic batch
        (([-1, 56, 56, 64], [-1, 56, 56, 72], [-1, 56, 56, 36]), [-1, 56, 56, 64]),
        # dynamic image size: the height and width were refused as overflowing int64
        (([1, -1, -1, 64], [1, -1, -1, 72], [1, -1, -1, 36]), [1, -1, -1, 64]),
        # every size dynamic
        (([-1, -1, -1, -1], [-1, -1, -1, -1], [-1, -1, -1, -1]), [-1, -1, -1, 64]),
        # unknown ranks: the sizes come from the tensors that have them
        ((UNKNOWN_RANK, [3, 28, 30, 72], UNKNOWN_RANK), [3, 28, 30, 64]),
        ((UNKNOWN_RANK, UNKNOWN_RANK, UNKNOWN_RANK), [-1, -1, -1, 64]),
        # a size the input does not know, the offset does
        (([1, -1, 56, 64], [-1, 40, 56, 72], [1, -1, -1, 36]), [1, 40, 56, 64]),
    ],
)
def test_unknown_sizes_stay_unknown_or_come_from_another_input(driver, shapes, output):
    assert infer(driver, *shapes) == output


def test_unknown_input_size_with_stride_takes_the_offsets_output_size(driver):
    assert infer(driver, [1, -1, -1, 64], [1, 14, 14, 72], [1, 14, 14, 36], attrs=STRIDE_2) == [1, 14, 14, 64]


def test_backward_shapes_with_unknown_sizes(driver):
    shapes = ([-1, -1, -1, 64], [-1, -1, -1, 72], [-1, -1, -1, 36], [-1, -1, -1, 64])
    assert infer(driver, *shapes) == [-1, -1, -1, 64]
    message = infer(driver, *shapes[:3], [-1, -1, -1, 32])
    assert message.startswith("grad_output must have shape [N, H_out, W_out, group*group_channels]"), message


@pytest.mark.parametrize(
    ("shapes", "start"),
    [
        (([1, -1, -1, 32], [1, -1, -1, 72], [1, -1, -1, 36]), "input channels (last dim) must equal"),
        (([1, -1, -1, 64], [1, -1, -1, 70], [1, -1, -1, 36]), "offset must have shape [N, H_out, W_out, group*P*2]"),
        (([1, -1, -1, 64], [1, 28, 28, 72], [1, 30, 28, 36]), "mask must have shape [N, H_out, W_out, group*P] = "),
        (([2, -1, -1, 64], [3, -1, -1, 72], [-1, -1, -1, 36]), "offset must have shape"),
        (([1, -1, -1], [1, -1, -1, 72], [1, -1, -1, 36]), "input must be 4-D"),
        (([1, -1, 0, 64], [1, -1, -1, 72], [1, -1, -1, 36]), "output size must be >= 1"),
        (([1, -3, 56, 64], [1, 56, 56, 72], [1, 56, 56, 36]), "input sizes must be >= 0"),
    ],
)
def test_known_sizes_must_still_agree(driver, shapes, start):
    message = infer(driver, *shapes)
    assert message.startswith(start), message


def test_conflicting_sizes_name_the_known_ones(driver):
    message = infer(driver, [1, -1, -1, 64], [1, 28, 28, 72], [1, 30, 28, 36])
    assert (
        message == "mask must have shape [N, H_out, W_out, group*P] = [1, 28, 28, 36] (-1: known at run time), "
        "got [1, 30, 28, 36]"
    )


@pytest.mark.parametrize("shape", [[-1, 56, 56, 64], [1, -1, 56, 64], UNKNOWN_RANK])
def test_placeholders_are_refused_outside_infer_shape(driver, shape):
    message = infer(driver, shape, [1, 56, 56, 72], [1, 56, 56, 36], unknown=False)
    assert message.startswith("input sizes must be >= 0") or message.startswith("input must be 4-D"), message


@pytest.mark.parametrize(
    "shapes",
    [
        ([-1, -1, -1, 64], [2**32, 2**32, 2**32, 72], [-1, -1, -1, 36]),
        (UNKNOWN_RANK, UNKNOWN_RANK, [2**32, 2**32, 2**32, 36]),
        (UNKNOWN_RANK, UNKNOWN_RANK, [2**32, 2**32, -1, 36]),
    ],
)
def test_sizes_from_other_inputs_must_give_an_output_int64_holds(driver, shapes):
    """The output's element count was checked before the sizes the input did not know were taken
    from the offset or mask, so InferShape gave [2^32, 2^32, 2^32, 64] (2^102 elements), which
    the same shapes known everywhere are refused for. An unknown size counts as 1."""
    message = infer(driver, *shapes)
    assert message.startswith("output shape [N, H_out, W_out, group*group_channels] = [4294967296, 4294967296, ")
    assert message.endswith("is too large: its sizes multiply to more than int64 holds"), message
