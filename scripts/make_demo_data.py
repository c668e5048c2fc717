"""Writes the built-in demo data set (music-like synthetic audio + manifest) used by configs/tiny_cpu.yaml."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.synthetic import write_demo_dataset  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="demo_run/data", help="folder for the WAV files and the manifest")
    parser.add_argument("--n-train", type=int, default=24, help="number of training files")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each file")
    args = parser.parse_args(argv)
    manifest = write_demo_dataset(args.out, n_train=args.n_train, n_val=2, n_test=2, seconds=args.seconds)
    print(f"demo data set written: {manifest}")


if __name__ == "__main__":
    main()
