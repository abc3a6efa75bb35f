# Two entry points, each doing its own set-up in .venv from the repo's pinned files:
#   make study   runs the default study (snakemake --cores all)
#   make test    runs the whole test suite (unit, workflow and SLURM tests)
#   make test-fast  the tests that need no snakemake, no SLURM and no long training (< 2 min)
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: study study-cost study-full study-full-cost bench-doc convergence replicate findings test test-fast report lint

$(STAMP): envs/requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r envs/requirements.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Every study target has one form: snakemake --cores all --configfile config/<file>.yaml, which
# runs exactly the study that file describes (config/README.md, "Config files").
study: $(STAMP)
	$(VENV)/bin/snakemake --cores all --configfile config/config.yaml
	$(VENV)/bin/snakemake --configfile config/config.yaml --report results/report.html

# `make study` timed from an empty results/, and where its time went (benchmarks/study_cost.py)
# written into docs/benchmarks.md: the figures the README quotes
study-cost: $(STAMP)
	@test ! -e results || { echo "results/ exists: move it aside (the cost is that of a study from nothing)"; exit 2; }
	/usr/bin/time -v -o study.time $(MAKE) study
	$(VENV)/bin/python benchmarks/study_cost.py --time study.time --write docs/benchmarks.md

# a training step of each family against its own matrix products (benchmarks/step_roofline.py) and
# one cnn1d run against a plain PyTorch loop (benchmarks/single_run.py), each with its default
# settings, written into docs/benchmarks.md with the date, machine, torch and command; timings, so
# run it on a quiet machine
bench-doc: $(STAMP)
	$(VENV)/bin/python benchmarks/step_roofline.py --write docs/benchmarks.md
	$(VENV)/bin/python benchmarks/single_run.py --write docs/benchmarks.md

# the quick study plus the training-length ablations (RE Table 9, SD Table 7)
study-full: $(STAMP)
	$(VENV)/bin/snakemake --cores all --configfile config/full.yaml

# `make study-full` timed from an empty results/, and where its time went
study-full-cost: $(STAMP)
	@test ! -e results || { echo "results/ exists: move it aside (the cost is that of a study from nothing)"; exit 2; }
	/usr/bin/time -v -o study-full.time $(MAKE) study-full
	$(VENV)/bin/python benchmarks/study_cost.py --target study-full --time study-full.time --write docs/benchmarks.md

# training length as a study of its own (cnn1d at 10-160 epochs)
convergence: $(STAMP)
	$(VENV)/bin/snakemake --cores all --configfile config/convergence.yaml

# the quick study, then a replicate of it with every seed shifted (config/replicate.yaml, in
# results/replicate/), and the two draws' verdicts compared into docs/replication.md; not part of `study`
replicate: $(STAMP)
	$(VENV)/bin/snakemake --cores all --configfile config/config.yaml
	$(VENV)/bin/snakemake --cores all --configfile config/replicate.yaml --directory results/replicate
	$(VENV)/bin/python -m runvar.replication results/summary.json results/replicate/results/summary.json --write docs/replication.md

# the README's findings from the default study's results (and the committed summary the test
# reads), and the README's pictures: the forest plot of every claim test and the quick study's
# sources figure, copied into docs/figures/
findings: $(STAMP)
	$(VENV)/bin/snakemake --cores all results/summary.json results/figures/sources_cnn1d.png results/figures/forest.png
	cp results/summary.json tests/data/quick_summary.json
	$(VENV)/bin/python -m runvar.summary tests/data/quick_summary.json README.md
	mkdir -p docs/figures
	cp results/figures/sources_cnn1d.png docs/figures/sources_cnn1d.png
	cp results/figures/forest.png docs/figures/forest.png

test: $(STAMP)
	-bash tests/slurm/install.sh  # root only; without SLURM the SLURM test is skipped, saying why (fails in CI)
	-bash tests/browser/install.sh  # root only; without Chromium the report's browser test is skipped, saying why (fails in CI)
	$(VENV)/bin/pytest -q

# no snakemake, no SLURM, nothing slow (pytest marks workflow, slurm, slow): under 2 minutes on
# 2 cores (706 tests, 39 s wall with training on both cores, pytest with these marks on 2026-12-07, AMD EPYC)
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow and not workflow and not slurm"

lint: $(STAMP)
	$(VENV)/bin/snakemake --lint
