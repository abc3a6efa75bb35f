# Two entry points, each doing its own set-up in .venv from the repo's pinned files:
#   make study   runs the default study (snakemake --cores all)
#   make test    runs the whole test suite (unit, workflow and SLURM tests)
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: study test report lint

$(STAMP): envs/requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r envs/requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

study: $(STAMP)
	$(VENV)/bin/snakemake --cores all
	$(VENV)/bin/snakemake --report results/report.html

test: $(STAMP)
	-bash tests/slurm/install.sh  # root only; without it the SLURM test fails and says why
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/snakemake --lint
