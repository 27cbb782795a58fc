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
    assert r.floor_seconds > 0 and r.floor_ratio == r.shiftlab_seconds / r.floor_seconds
    assert "the floor" in r.text() and "width 4,8 + FC 64" in r.text()


def test_bench_takes_the_width():
    r = bench_train(device="cpu", size=128, channels=(6, 10), hidden=20)
    assert r.channels == (6, 10) and r.hidden == 20 and "width 6,10 + FC 20" in r.text()


def test_cli_parser():
    args = build_parser().parse_args(["bench", "train", "--size", "512"])
    assert args.command == "bench" and args.target == "train" and args.size == 512
    assert args.width is None and args.hidden is None
    args = build_parser().parse_args(["bench", "train", "--width", "32,64", "--hidden", "128"])
    assert args.width == (32, 64) and args.hidden == 128
    args = build_parser().parse_args(["reproduce", "mnist", "--width", "16, 32"])
    assert args.width == (16, 32)
