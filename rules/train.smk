# One rule per chunk of seeds: a job trains `train.seeds_per_job` runs of one (setup, variant)
# in one process (torch import and data loading paid once), while every run keeps its own
# output files. seeds_per_job: 1 gives one job per seed (e.g. one SLURM job each).
# Families of chunks (train_families in common.smk), so that a row that needs only a few runs
# trains only those: the `none` row (studies.sources.runs_none; its run 1 alone, since every
# single-source variant reuses it as its run 1) and the doubled-epochs setups of the plateau
# checks (plateau.runs); the single-source variants from seed 2, everything else from seed 1.
# Onset runs (SD Fig 2) start from their base's `none` run 1 at the end of the onset epoch E: a
# job of its own per (setup, E), rule onset_start, trains that run again and keeps its state
# there, so that the `none` run 1 is the same job, with the same params, under every config.


for _family, _chunks, _setups, _variants in train_families():
    for _seeds in _chunks:
        _span = f"{_seeds[0]}-{_seeds[-1]}"

        rule:
            name:
                f"{_family}_seeds_{_seeds[0]}_{_seeds[-1]}"
            input:
                unpack(train_inputs),
            output:
                predictions=[f"{RUN_DIR}/predictions.npz".replace("{seed}", str(s)) for s in _seeds],
                records=[f"{RUN_DIR}/run.json".replace("{seed}", str(s)) for s in _seeds],
                histories=[f"{RUN_DIR}/history.csv".replace("{seed}", str(s)) for s in _seeds],
                models=[f"{RUN_DIR}/model.pt".replace("{seed}", str(s)) for s in _seeds],
            wildcard_constraints:
                setup=_setups,
                variant=_variants,
            params:
                setup=setup_of,
                onset_start=lambda wc: ONSET_STARTS.get(wc.setup, [None, 0])[1],
            log:
                f"results/logs/train/{{setup}}/{{variant}}/seeds{_span}.log",
            benchmark:
                f"results/benchmarks/train/{{setup}}/{{variant}}/seeds{_span}.tsv"
            threads: setup_threads
            resources:
                **resources_for("train"),
            conda:
                "../envs/environment.yaml"
            script:
                "../workflow_scripts/train.py"


rule onset_start:
    input:
        data=lambda wc: DATA_NPZ.format(dataset=SETUPS[wc.setup]["dataset"]),
        reference=f"{RUN_DIR}/predictions.npz".replace("{variant}", "none").replace("{seed}", "1"),
    output:
        ONSET_START_FILE,
    wildcard_constraints:
        epoch=r"[1-9][0-9]*",
    params:
        setup=setup_of,
    log:
        "results/logs/train/{setup}/none/onset_start{epoch}.log",
    benchmark:
        "results/benchmarks/train/{setup}/none/onset_start{epoch}.tsv"
    threads: setup_threads
    resources:
        **resources_for("train"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/onset_start.py"
