"""Batches, resumed runs, schedules and workers on a durable engine (DBOS, behind
durable/engine.py). Importing this package imports no DBOS."""
