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
            predictions=[f"results/language/runs/{{key}}/seed{s}/predictions.npz" for s in range(_first, _last + 1)],
            records=[f"results/language/runs/{{key}}/seed{s}/run.json" for s in range(_first, _last + 1)],
            histories=[f"results/language/runs/{{key}}/seed{s}/history.csv" for s in range(_first, _last + 1)],
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
        setup=language_setup_pattern(),
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
            "results/tables/language_{setup}.csv",
            caption="captions/language_table.rst",
            category="Language modelling",
            subcategory="{setup}",
        ),
        md="results/tables/language_{setup}.md",
        claims_csv="results/claims/language_{setup}.csv",
        claims_md="results/claims/language_{setup}.md",
        claims_html=report(
            "results/claims/language_{setup}.html",
            caption="captions/language_claims.rst",
            category="Language modelling",
            subcategory="{setup}",
        ),
        png=report(
            "results/figures/language_{setup}.png",
            caption="captions/language_figure.rst",
            category="Language modelling",
            subcategory="{setup}",
        ),
        pdf="results/figures/language_{setup}.pdf",
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
