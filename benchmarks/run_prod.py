"""The transform step of ``dvdrental daily`` alone, in its own process: ``sqlmesh run`` on prod at a given time.

``python -m benchmarks.run_prod EXECUTION_TIME`` (warehouse from ``DVD_WAREHOUSE_PATH``): the daily
benchmark measures this child, the same call ``dvdrental daily`` makes after its ingest
(:func:`dvdrental.warehouse.context.run_prod`), with an execution time the CLI does not take.
"""

from __future__ import annotations

import sys

from dvdrental.warehouse import context as transform


def main(execution_time: str) -> None:
    ctx = transform.context()
    try:
        print(transform.run_prod(ctx=ctx, execution_time=execution_time))
    finally:
        transform.release(ctx)


if __name__ == "__main__":
    main(sys.argv[1])
