# Language modelling (SD Tables 2 and 4): corpus, runs in chunks of seeds, plateau check,
# metrics per variant, then one report job per setup (table, claims, figure).


rule language_corpus:
    output:
        LANGUAGE_CORPUS,
    params:
        options=lambda wc: CFG["datasets"].get(wc.corpus, {}),
    log:
        "results/logs/language/corpus_{corpus}.log",
    wildcard_constraints:
        corpus="pydoc|ptb",
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/language_corpus.py"


# One rule per span of seeds; `key` is setup/variant, constrained to the keys trained in that span.
for (_first, _last), _keys in LANGUAGE.get("chunks", {}).items():

    rule:
        name:
            f"language_train_seeds_{_first}_{_last}"
        input:
            corpus=language_corpus_input,
        output:
            predictions=language_chunk_files(_first, _last, "predictions.npz"),
            records=language_chunk_files(_first, _last, "run.json"),
            histories=language_chunk_files(_first, _last, "history.csv"),
        wildcard_constraints:
            key=_one_of(_keys),
        params:
            setup=language_setup_of,
        log:
            f"results/logs/language/train/{{key}}/seeds{_first}-{_last}.log",
        benchmark:
            f"results/benchmarks/language/train/{{key}}/seeds{_first}-{_last}.tsv"
        threads: lambda wc: language_setup_of(wc)["execution"]["threads"]
        resources:
            **resources_for("train"),
        conda:
            "../envs/environment.yaml"
        script:
            "../workflow_scripts/language_train.py"


rule language_plateau:
    input:
        unpack(language_plateau_inputs),
    output:
        LANGUAGE_PLATEAU,
    params:
        variant=LANGUAGE.get("plateau", {}).get("variant"),
        max_change=LANGUAGE.get("plateau", {}).get("max_change_pct"),
    log:
        "results/logs/language/plateau_{setup}.log",
    wildcard_constraints:
        setup=language_setup_pattern(),
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/language_plateau.py"


rule language_metrics:
    input:
        unpack(language_metrics_inputs),
    output:
        LANGUAGE_METRICS,
    params:
        bootstrap=BOOTSTRAP,
        allow_pooling=ALLOW_POOLING,
    log:
        "results/logs/language/metrics/{setup}/{variant}.log",
    wildcard_constraints:
        setup=language_metrics_setup_pattern(),
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/language_metrics.py"


rule language_report:
    input:
        unpack(language_report_inputs),
    output:
        csv=report(
            LANGUAGE_REPORT_FILES["csv"],
            caption="captions/language_table.rst",
            category=REPORT["language"],
            subcategory="{setup}",
        ),
        md=LANGUAGE_REPORT_FILES["md"],
        claims_csv=LANGUAGE_REPORT_FILES["claims_csv"],
        claims_md=LANGUAGE_REPORT_FILES["claims_md"],
        claims_html=report(
            LANGUAGE_REPORT_FILES["claims_html"],
            caption="captions/language_claims.rst",
            category=REPORT["language"],
            subcategory="{setup}",
        ),
        png=report(
            LANGUAGE_REPORT_FILES["png"],
            caption="captions/language_figure.rst",
            category=REPORT["language"],
            subcategory="{setup}",
        ),
        pdf=LANGUAGE_REPORT_FILES["pdf"],
    params:
        bootstrap=BOOTSTRAP,
        claims=CLAIMS,
    log:
        "results/logs/language/report_{setup}.log",
    wildcard_constraints:
        setup=language_setup_pattern(),
    resources:
        **resources_for("default"),
    conda:
        "../envs/environment.yaml"
    script:
        "../workflow_scripts/language_report.py"
