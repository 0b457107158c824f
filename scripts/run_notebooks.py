"""Run every notebook as a teacher would before class: `jupyter nbconvert --execute`'s engine (nbclient), several
times in a row, and report each run's time and the kernel's peak memory (Binder: under a minute, under 2 GB).

    .venv/bin/python scripts/run_notebooks.py [--times 5] [--timeout 600] [NAME ...]

A run that raises, or stalls past ``--timeout`` seconds in one cell, is reported and counted; the exit status is 1
if any run failed. The outputs are not written back (the notebooks are committed stripped).
"""
import argparse
import sys
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# appended to each run: the kernel's own peak resident memory (Linux reports kB)
PEAK = "import resource; print('peak_mb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"


def run_once(path: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK))
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                   ).execute()
    seconds = time.perf_counter() - t0
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return seconds, float(printed.split()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    p.add_argument("--times", type=int, default=5)
    p.add_argument("--timeout", type=int, default=600, help="seconds one cell may take")
    args = p.parse_args()
    paths = [NOTEBOOKS / f"{n}.ipynb" for n in args.names] or sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = 0
    print("| notebook | runs | seconds (each run) | kernel peak MB (max) | failed |")
    print("|---|---|---|---|---|")
    for path in paths:
        times, peaks, errors = [], [], []
        for _ in range(args.times):
            try:
                seconds, peak = run_once(path, args.timeout)
                times.append(seconds)
                peaks.append(peak)
            except Exception as e:  # a stall (nbclient's timeout), a dead kernel or a cell's error
                errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
        failed += len(errors)
        print(f"| {path.stem} | {args.times} | {' / '.join(f'{t:.0f}' for t in times)} | "
              f"{max(peaks) if peaks else float('nan'):.0f} | {len(errors)} {'; '.join(errors)} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
