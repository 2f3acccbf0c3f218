# Every target sets itself up from nothing: it builds its virtual environment(s) first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY_DEFAULT = $(shell scripts/pythons.sh | head -n1)
VENV = $(shell scripts/venv.sh $(PY_DEFAULT))

.PHONY: help demo test invoke emulator serve package bench bench-smoke reliability clean

help:
	@echo "make demo     start the local VPC emulator with a two-node pair and fail it over"
	@echo "make test     lint, type-check and run the whole suite on Python 3.10 and 3.12"
	@echo "make invoke EVENT=events/manual-master.json [DRY_RUN=1]   run the FC entry on an event"
	@echo "make emulator run the local VPC emulator (two-node pair) in the foreground"
	@echo "make serve    a local HTTP trigger on 127.0.0.1:9000 running the FC entry (PORT=…)"
	@echo "make package  build dist/havip-failover.zip, the deployable code package (as s build would)"
	@echo "make bench    run the benchmarks, write bench/RESULTS.md"
	@echo "make reliability  the fault/race/fuzz figures of docs/reliability.md"

demo:
	@$(VENV)/bin/python scripts/demo.py

test:
	@scripts/test.sh

invoke:
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/FILE.json [DRY_RUN=1]"; exit 2; }
	@$(VENV)/bin/python -m havip_failover invoke "$(EVENT)" $(if $(DRY_RUN),--dry-run,)

emulator:
	@$(VENV)/bin/python -m vpc_emulator --scenario pair --port $(or $(PORT),8765)

serve:
	@$(VENV)/bin/python -m havip_failover serve --port $(or $(PORT),9000)

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

clean:
	rm -rf .venv-* tests/emulator/node/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
