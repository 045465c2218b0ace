"""yolodeck's detection service: a FastAPI API in front of a Redis Streams queue, and model workers.

``python -m apps.service api --redis URL`` takes jobs; ``python -m apps.service worker --redis URL
--repo OWNER/NAME`` pulls one variant of a deck and runs them. Any number of workers, on any
number of hosts, share one Redis: a job is acknowledged only once its result is stored, and a job
whose worker died is claimed by another. See :mod:`apps.service.jobs` for the keys and the rules.
"""
