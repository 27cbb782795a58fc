from shiftlab.tools.bench import bench_train, prepare_torchvision_root
from shiftlab.tools.cli import build_parser


def test_torchvision_root(tmp_path):
    root = prepare_torchvision_root(tmp_path)
    raw = root / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte").stat().st_size == 47040016
    assert (raw / "t10k-labels-idx1-ubyte").stat().st_size == 10008


def test_bench_runs_on_tiny_sizes():
    r = bench_train(device="cpu", size=256)
    assert r.size == 256 and r.shiftlab_seconds > 0 and r.textbook_seconds > 0
    assert r.ratio == r.textbook_seconds / r.shiftlab_seconds
    assert "speed-up" in r.text()


def test_cli_parser():
    args = build_parser().parse_args(["bench", "train", "--size", "512"])
    assert args.command == "bench" and args.target == "train" and args.size == 512
