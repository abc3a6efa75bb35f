# Reducing variability and watching it grow (docs/protocol.md: Ensembles, TTA, Onset, CKA, Ablations,
# claim 3). Everything reads the runs of rules/train.smk: the sources study's pool and the
# derived setups of rules/reduction_functions.smk. No science here.


# TTA from saved weights, chunked like training: one job per chunk of seeds of (setup, variant).
for _seeds in seed_chunks(max_runs(), SEEDS_PER_JOB) if TTA_METHODS else []:
    _span = f"{_seeds[0]}-{_seeds[-1]}"

    rule:
        name:
            f"reduction_tta_seeds_{_seeds[0]}_{_seeds[-1]}"
        input:
            data=lambda wc: DATA_NPZ.format(dataset=SETUPS[wc.setup]["dataset"]),
            models=[f"{RUN_DIR}/model.pt".replace("{seed}", str(s)) for s in _seeds],
        output:
            [f"{RUN_DIR}/{method}.npz".replace("{seed}", str(s)) for s in _seeds for method in TTA_METHODS],
        params:
            setup=setup_of,
            methods=TTA_METHODS,
            padding=TTA_PADDING,
        log:
            f"results/logs/tta/{{setup}}/{{variant}}/seeds{_span}.log",
        benchmark:
            f"results/benchmarks/tta/{{setup}}/{{variant}}/seeds{_span}.tsv"
        threads: setup_threads
        resources:
            **resources_for("train"),
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/reduction_tta.py"


rule reduction_ensembles:
    input:
        unpack(ensembles_inputs),
    output:
        csv=report(
            reduction_file("tables", "ensembles", "csv"),
            caption="captions/reduction_ensembles.rst",
            category=REPORT["reduction"],
            subcategory="{setup}",
        ),
        md=reduction_file("tables", "ensembles", "md"),
    params:
        plan=lambda wc: REDUCTION["ensembles"][wc.setup],
        recipes=lambda wc: recipes_of([spec["setup"] for spec in (REDUCTION["ensembles"][wc.setup][k] for k in ("pool", "snapshot")) if spec]),
        bootstrap=BOOTSTRAP,
    log:
        "results/logs/tables/ensembles_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/reduction_ensembles.py"


rule reduction_tta_table:
    input:
        unpack(tta_inputs),
    output:
        csv=report(
            reduction_file("tables", "tta", "csv"),
            caption="captions/reduction_tta.rst",
            category=REPORT["reduction"],
            subcategory="{setup}",
        ),
        md=reduction_file("tables", "tta", "md"),
        claims_csv=reduction_file("claims", "reduction", "csv"),
        claims_md=reduction_file("claims", "reduction", "md"),
        claims_html=report(
            reduction_file("claims", "reduction", "html"),
            caption="captions/reduction_claims.rst",
            category=REPORT["claims"],
            subcategory="{setup}",
        ),
    params:
        plan=lambda wc: REDUCTION["tta"][wc.setup],
        recipes=lambda wc: recipes_of([wc.setup] + [s["setup"] for s in [REDUCTION["tta"][wc.setup]["snapshot"]] if s]),
        bootstrap=BOOTSTRAP,
    log:
        "results/logs/tables/tta_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/reduction_tta_table.py"


rule reduction_rows_table:
    input:
        unpack(row_table_inputs),
    output:
        csv=report(
            reduction_file("tables", "{table}", "csv"),
            caption="captions/reduction_rows.rst",
            category=REPORT["settings"],
            subcategory="{setup}",
        ),
        md=reduction_file("tables", "{table}", "md"),
    params:
        rows=row_table_rows,
        recipes=lambda wc: recipes_of([spec["setup"] for spec in row_table_rows(wc)]),
        title=lambda wc: ROW_TABLES[wc.table],
        bootstrap=BOOTSTRAP,
    log:
        "results/logs/tables/{table}_{setup}.log",
    wildcard_constraints:
        table="|".join(ROW_TABLES),
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/reduction_rows_table.py"


rule reduction_onset_figure:
    input:
        reduction_file("tables", "onset", "csv"),
    output:
        png=report(
            reduction_file("figures", "onset", "png"),
            caption="captions/reduction_onset.rst",
            category=REPORT["settings"],
            subcategory="{setup}",
        ),
        pdf=reduction_file("figures", "onset", "pdf"),
    log:
        "results/logs/figures/onset_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/reduction_onset_figure.py"


rule reduction_cka:
    input:
        unpack(cka_inputs),
    output:
        csv=report(
            reduction_file("tables", "cka", "csv"),
            caption="captions/reduction_cka.rst",
            category=REPORT["cka"],
            subcategory="{setup}",
        ),
        md=reduction_file("tables", "cka", "md"),
    params:
        plan=lambda wc: REDUCTION["cka"][wc.setup],
        setup=setup_of,
    log:
        "results/logs/cka/{setup}.log",
    benchmark:
        "results/benchmarks/cka/{setup}.tsv"
    threads: setup_threads
    resources:
        **resources_for("train"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/reduction_cka.py"


rule reduction_cka_figure:
    input:
        reduction_file("tables", "cka", "csv"),
    output:
        png=report(
            reduction_file("figures", "cka", "png"),
            caption="captions/reduction_cka.rst",
            category=REPORT["cka"],
            subcategory="{setup}",
        ),
        pdf=reduction_file("figures", "cka", "pdf"),
    log:
        "results/logs/figures/cka_{setup}.log",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/reduction_cka_figure.py"
