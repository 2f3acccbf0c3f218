# Every target sets itself up from nothing: it builds its virtual environment(s) first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY_DEFAULT = $(shell scripts/pythons.sh | head -n1)
VENV = $(shell scripts/venv.sh $(PY_DEFAULT))
# invoke/serve: against the local emulator (scripts/local.env), or CLOUD=1 with the caller's environment
LOCAL = $(VENV)/bin/python scripts/local.py run $(if $(filter-out 0 false,$(CLOUD)),--cloud,) --

.PHONY: help demo check test invoke emulator serve stop package bench bench-smoke reliability clean

help:
	@echo "make demo      start the local VPC emulator with a two-node pair and fail it over (leaves nothing running)"
	@echo "make check     the inner loop: lint, format, types, unit and functional tests, first Python only (< 1 min)"
	@echo "make test      lint, type-check and run the whole suite on Python 3.10 and 3.12 (what CI runs)"
	@echo "make invoke EVENT=events/manual-master.json [DRY_RUN=1] [CLOUD=1]   run the FC entry on an event"
	@echo "make serve [PORT=9000] [CLOUD=1]   a local HTTP trigger on 127.0.0.1:PORT running the FC entry"
	@echo "               invoke/serve use the local emulator on 127.0.0.1:8765 with scripts/local.env's settings,"
	@echo "               starting it in the background if nothing answers there; CLOUD=1: your own environment"
	@echo "make stop      stop the background emulator invoke/serve started (its state goes with it)"
	@echo "make emulator  the local VPC emulator (two-node pair) in the foreground on 127.0.0.1:8765 (PORT=…)"
	@echo "make package   build dist/havip-failover.zip, the deployable code package (as s build would; reproducible)"
	@echo "make bench     run the benchmarks, write bench/RESULTS.md"
	@echo "make bench-smoke  the benchmarks once, quickly (a check that they run)"
	@echo "make reliability  the fault/race/fuzz figures of docs/reliability.md"
	@echo "make clean     remove what the targets built: .venv*, node_modules, build/, dist/, caches"
	@echo "Python commands by hand: .venv/bin/python (a link to the environment the targets built)"

demo:
	@$(VENV)/bin/python scripts/demo.py

check:
	@scripts/check.sh

test:
	@scripts/test.sh

invoke:
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/FILE.json [DRY_RUN=1] [CLOUD=1]"; exit 2; }
	@$(LOCAL) $(VENV)/bin/python -m havip_failover invoke "$(EVENT)" $(if $(filter-out 0 false,$(DRY_RUN)),--dry-run,)

emulator:
	@$(VENV)/bin/python -m vpc_emulator --scenario pair --port $(or $(PORT),8765)

serve:
	@$(LOCAL) $(VENV)/bin/python -m havip_failover serve --port $(or $(PORT),9000)

stop:
	@$(PY_DEFAULT) scripts/local.py stop

package:
	@scripts/package.sh

bench:
	@$(VENV)/bin/python -m bench.run

bench-smoke:
	@$(VENV)/bin/python -m bench.run --smoke

reliability:
	@rm -rf build/reliability
	@$(VENV)/bin/python -m pytest tests/reliability -q -p no:cacheprovider $(PYTEST_ARGS)
	@$(VENV)/bin/python scripts/reliability_report.py

# (the background emulator first: its pid file is in build/)
clean:
	-@[ -f build/emulator.pid ] && $(PY_DEFAULT) scripts/local.py stop || true
	rm -rf .venv-* tests/emulator/node/node_modules node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	@if [ -L .venv ]; then rm .venv; fi
