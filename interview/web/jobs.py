"""The grading queue seen from the web: a job's state for the page that waits on it, the
operators' status page and the Prometheus metrics."""
from __future__ import annotations

import hmac
import ipaddress
import os
from functools import wraps
from typing import Any, Callable, Iterator

from flask import Blueprint, Response, g, jsonify, render_template, request

from interview import grading_queue
from interview.web import access
from interview.web.auth import instructor_required, login_required

bp = Blueprint("jobs", __name__)


@bp.get("/jobs/<job_id>")
@login_required
def status(job_id: str) -> Any:
    """A run's state, result and progress, for its owner only (another's is a 404)."""
    info = grading_queue.current().get(job_id)
    if info is None or info.owner != f"user:{g.user.id}":
        return jsonify(error="There is no such run of yours (finished runs are kept a day)."), 404
    return jsonify(info.public())


@bp.get("/queue")
@instructor_required
def queue_page() -> Any:
    """Queue length, waits, runs per second and failures, for instructors and operators."""
    return render_template("jobs/queue.html", stats=grading_queue.current().stats())


def _metrics_access(view: Callable[..., Any]) -> Callable[..., Any]:
    """/metrics: a scraper on this host (loopback), or one presenting INTERVIEW_METRICS_TOKEN as a
    bearer token; anyone else needs an instructor's sign-in. The loopback exception is opt-in
    (INTERVIEW_METRICS_LOCAL=1): behind a reverse proxy on the same host every request would
    otherwise look local. Declared `instructor`: the two exceptions are the operator's config."""
    guarded = instructor_required(view)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = os.environ.get("INTERVIEW_METRICS_TOKEN", "")
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token and given and hmac.compare_digest(token, given):
            return view(*args, **kwargs)
        if os.environ.get("INTERVIEW_METRICS_LOCAL", "0") == "1" and not request.headers.get("X-Forwarded-For"):
            try:
                if ipaddress.ip_address(request.remote_addr or "").is_loopback:
                    return view(*args, **kwargs)
            except ValueError:
                pass
        return guarded(*args, **kwargs)

    return access.declare(wrapped, access.INSTRUCTOR)


class _QueueCollector:
    """Reads the shared queue's figures at scrape time (every process sees the same Redis)."""

    def __init__(self, queue: grading_queue.GradingQueue) -> None:
        self.queue = queue

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        s = self.queue.stats()
        length = GaugeMetricFamily("interview_grading_queue_length", "Runs waiting for a grader", labels=["lane"])
        for lane, n in s["queued"].items():
            length.add_metric([lane], n)
        yield length
        yield GaugeMetricFamily("interview_grading_running", "Runs in a sandbox now", value=s["running"])
        wait = GaugeMetricFamily("interview_grading_wait_seconds", "Wait from submission to start, recent runs",
                                 labels=["quantile"])
        for q, key in (("0.5", "wait_p50"), ("0.99", "wait_p99")):
            if s[key] is not None:
                wait.add_metric([q], s[key])
        yield wait
        yield GaugeMetricFamily("interview_grading_runs_per_second", "Finished runs per second, last minute",
                                value=s["runs_per_second"])
        for name, key, doc in (("finished", "done_total", "Runs finished"),
                               ("failed", "failed_total", "Runs that could not be graded after every try"),
                               ("refused", "refused_total", "Runs refused: a learner's limit or a full queue")):
            yield CounterMetricFamily(f"interview_grading_{name}", doc, value=s[key])


@bp.get("/metrics")
@_metrics_access
def metrics() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(_QueueCollector(grading_queue.current()))  # type: ignore[arg-type]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})

