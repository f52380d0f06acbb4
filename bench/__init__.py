"""authgate's benchmarks: one command measures the server against its peers and writes the results.

    .venv/bin/python -m bench            # everything, ~10 minutes on 2 cores
    .venv/bin/python -m bench --quick    # shorter runs, for trying the runner itself

See bench/README.md for what is measured, how, and where the results go.
"""
