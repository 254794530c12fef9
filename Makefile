# The two commands a newcomer needs: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-ahead lint bench bench-push loadtest loadtest-fairshare venv clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $$(scripts/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# The embedded default is for one's own machine: DEBUG on unless said otherwise.
run: export DEBUG ?= 1
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) -m uvicorn hypothesislab.asgi:application --host 127.0.0.1 --port 8000 --no-access-log

lint: $(STAMP)
	$(PY) -m ruff check .

test: export HYPOTHESISLAB_TESTING=1
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite with the clock a year ahead (time-machine, in the test process): a test that
# holds a calendar date turning into the past fails here first. Browser tests are left
# out: Chromium keeps the real clock.
test-ahead: export HYPOTHESISLAB_TESTING=1
test-ahead: $(STAMP)
	$(PY) -m pytest --clock-ahead 365 -m "not browser" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m bench.run $(BENCH_ARGS)

# Issue 10: Server-Sent Events against WebSockets on a bare ASGI app under uvicorn, on
# 127.0.0.1, under 2 minutes; e.g. BENCH_PUSH_ARGS="--kinds sse,ws,ws-deflate".
bench-push: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m bench.push_transport $(BENCH_PUSH_ARGS)

# The live session on server push: 50, then 200 members in one session, each holding one
# event stream, for 60 s each against uvicorn as docker-compose.yml runs it, PostgreSQL (a
# throwaway database beside DATABASE_URL's), Redis and a worker, all on 127.0.0.1. Write
# latency, delivery to every other member, web RSS; e.g. LOADTEST_ARGS="--members 200".
loadtest: export DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/hypothesislab)
loadtest: $(STAMP)
	$(PY) -m tests.load.run $(LOADTEST_ARGS)

# Fair share (issue 12): how long one team's small query waits behind another team's three
# heavy ones, fair share off and on, embedded and with Celery; e.g. FAIRSHARE_ARGS="--seconds 10".
loadtest-fairshare: export DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/hypothesislab)
loadtest-fairshare: $(STAMP)
	$(PY) -m tests.load.fairshare $(FAIRSHARE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
