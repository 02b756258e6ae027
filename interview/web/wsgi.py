"""WSGI entry point for production servers: `gunicorn interview.web.wsgi:app`.

Configured from the environment (DATABASE_URL, INTERVIEW_MULTI_USER, INTERVIEW_SECRET_KEY);
run `interview sync` (or `interview serve` once) beforehand to migrate and load the bank.
"""
from interview.web import create_app

app = create_app()
