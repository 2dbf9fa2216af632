"""hyplora benchmark suite: times one adapted projection (and a small decoder
stack) for every contender against the frozen cuBLAS layer. Entry point:
``python bench/run.py --out DIR [--quick | --dry-run]``; see bench/README.md."""
