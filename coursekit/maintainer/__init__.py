"""Tools for whoever keeps the course working, not for learners' lessons.

bench       `make bench`: RMSE and compute time, cache hits, the whole tour from cold
browser     `make ui-check` / `make screenshots`: the Prefect UI in Chromium, checked against the API
"""
