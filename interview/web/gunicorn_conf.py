"""gunicorn settings for a deployed instance, the ones `bench/web.py` measures:

    INTERVIEW_MULTI_USER=1 gunicorn -c python:interview.web.gunicorn_conf interview.web.wsgi:app

Sync workers, one per core (WEB_CONCURRENCY overrides the count, as in any gunicorn setup).
A page is CPU work under the GIL, so a process serves one request at a time best; and a sync
worker takes a connection from the shared listening queue only when it is free, so requests
are served in arrival order by whichever worker frees first. Threaded workers (gthread) take
connections as they come and keep them, so one process can hold a queue while the other idles:
on two cores with 32 clients (bench/web.py, runs minutes apart), gthread 2 x 4 gave the practice page a
p99 of 78-161 ms where 2 sync workers gave 45-80 ms at the same or better throughput, and 3 or
4 sync workers did worse than 2 (more processes than cores to share them).

Code and SQL answers do not hold a worker: they are graded on the grading queue by
`interview worker` processes (INTERVIEW_REDIS_URL), so a page never waits behind a sandbox.
With more than one worker, set INTERVIEW_RATELIMIT_STORAGE (Redis) so that the sign-in limits
count every worker's attempts together; and set INTERVIEW_REDIS_URL: the in-process grading
pool of a plain `interview serve` would give each web process a pool and limits of its own.
"""
from __future__ import annotations

import os

worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
timeout = 120  # well above a sandbox run's wall-clock limit, so a slow grade is not taken for a hung worker
