"""DistributedDataParallel training of the InternImage backbone on DCNv3: 2 CPU processes (gloo)
end with the same gradients and parameters as one process training on the same global batch."""

import datetime
import os
import socket
import time
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from dcnv3_ascend.models import InternImageBackbone

WORLD_SIZE = 2
GLOBAL_BATCH = 4
STEPS = 3
IMAGE = 64
# Whole-run limits, so a stuck collective fails the test instead of hanging CI.
COLLECTIVE_TIMEOUT_S = 60
RUN_TIMEOUT_S = 240


def build_model():
    torch.manual_seed(0)
    return InternImageBackbone("DCNv3", channels=32, depths=(1, 1, 2, 1), groups=(2, 4, 8, 16))


def make_data():
    """Per step: a global batch of images and the fixed projections the loss uses."""
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(STEPS, GLOBAL_BATCH, 3, IMAGE, IMAGE, generator=gen)
    shapes = [(32 * 2**i, IMAGE // 2 ** (i + 2), IMAGE // 2 ** (i + 2)) for i in range(4)]
    projections = [torch.randn(shape, generator=gen) for shape in shapes]
    return images, projections


def loss_fn(features, projections):
    # Mean over the batch of a per-sample loss: DDP's gradient averaging over equal shards then
    # reproduces the global-batch gradient.
    return sum((f * p).sum(dim=(1, 2, 3)) for f, p in zip(features, projections)).mean()


def train(model, images, projections):
    """SGD with momentum for STEPS steps; returns (parameters, gradients of the last step)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for batch in images:
        optimizer.zero_grad()
        loss_fn(model(batch), projections).backward()
        optimizer.step()
    module = model.module if isinstance(model, DistributedDataParallel) else model
    return (
        {n: p.detach().clone() for n, p in module.named_parameters()},
        {n: p.grad.clone() for n, p in module.named_parameters()},
    )


def worker(rank, port, out_dir):
    torch.set_num_threads(1)  # two processes share the machine's cores
    # The depthwise conv's weight gradient comes back channels-last strided; DDP notes that it
    # copies it into its bucket. Correct, only slower, and noise in the test log.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    dist.init_process_group(
        "gloo", rank=rank, world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT_S)
    )
    try:
        model = DistributedDataParallel(build_model())
        images, projections = make_data()
        shard = GLOBAL_BATCH // WORLD_SIZE
        params, grads = train(model, images[:, rank * shard : (rank + 1) * shard], projections)
        torch.save({"params": params, "grads": grads}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(out_dir):
    context = mp.spawn(worker, args=(free_port(), str(out_dir)), nprocs=WORLD_SIZE, join=False)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while not context.join(timeout=5):  # raises if a worker failed
            if time.monotonic() > deadline:
                pytest.fail(f"DDP workers did not finish within {RUN_TIMEOUT_S} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()
                process.join(5)


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch built without gloo")
def test_ddp_two_processes_match_single_process(tmp_path):
    images, projections = make_data()
    model = build_model()
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    want_params, want_grads = train(model, images, projections)

    run_workers(tmp_path)
    for rank in range(WORLD_SIZE):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert result["params"].keys() == want_params.keys()
        # The shards' gradients are summed in another order than the global batch's, so compare
        # each tensor as a whole (single elements can be sums that cancel to ~0).
        for name, expected in want_grads.items():
            error = (result["grads"][name] - expected).norm() / expected.norm()
            assert error < 1e-3, f"rank {rank} grad {name}: relative error {error:.2e}"
        # Parameters: the error against how far training moved them.
        for name, expected in want_params.items():
            moved = (expected - initial[name]).norm()
            error = (result["params"][name] - expected).norm() / moved
            assert moved > 0 and error < 1e-3, f"rank {rank} param {name}: relative error {error:.2e}"
    # The training moved the deformable layers off their zero init, so offsets were learnt.
    assert want_params["levels.1.blocks.0.dcn.offset.weight"].abs().sum() > 0
