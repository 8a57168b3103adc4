"""Benchmarks of the portal over HTTP, run by `manage.py bench`.

They are not tests: they start a production web server, a Celery worker and a
fresh PostgreSQL database, load the API and report ratios against a baseline.
"""
