"""Exercise 3: spread a flow's mapped tasks over Dask worker processes.

sweep.py runs its grid on a Dask cluster through prefect-dask. Do the same for a small flow: make
`square_all` run on a DaskTaskRunner with a LocalCluster of two worker processes, one thread each, so
that its mapped `square` tasks run outside the flow's own process (each returns the id of the process
that ran it). The flow's code does not change: only its task runner.
Check with `make check-5`.
"""

from __future__ import annotations

import os
import time

from prefect import flow, task


@task
def square(number: int) -> tuple[int, int]:
    time.sleep(0.2)  # long enough that both Dask workers get some of the work
    return number * number, os.getpid()


# TODO: run this flow's mapped tasks on a local Dask cluster of two worker processes (prefect-dask), one
# thread each and no dashboard, so that no square is computed in the flow's own process.
@flow(name="ex3-square-all")
def square_all(numbers: list[int]) -> list[tuple[int, int]]:
    return [future.result() for future in square.map(numbers)]


if __name__ == "__main__":
    print(square_all(list(range(8))))
