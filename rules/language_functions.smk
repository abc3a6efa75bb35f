# Language modelling (SD Tables 2 and 4): the plan's detail and input functions. The plan is
# runvar.language.plan (PLANS["language"]); runs and metrics live under results/language/.
from runvar.language.plan import CORPUS_NPZ as LANGUAGE_CORPUS, METRICS_JSON as LANGUAGE_METRICS
from runvar.language.plan import KEY_RUN_DIR as LANGUAGE_KEY_RUN_DIR, PLATEAU_JSON as LANGUAGE_PLATEAU
from runvar.language.plan import REPORT_FILES as LANGUAGE_REPORT_FILES, RUN_DIR as LANGUAGE_RUN_DIR

LANGUAGE = PLANS["language"].detail
LANGUAGE_SETUPS = LANGUAGE.get("setups", {})
LANGUAGE_TABLE_SETUPS = list(LANGUAGE.get("doubled", {}))
#: table setup -> the setups of its bit flips' bases 1..B (runvar.language.plan.bitflip_bases)
LANGUAGE_BASES = LANGUAGE.get("bitflip_bases", {})


def language_runs(setup, variant, name, runs=None):
    """Files ``name`` of runs 1..runs (default: the plan's R) of a language (setup, variant)."""
    runs = runs or LANGUAGE["runs"][f"{setup}/{variant}"]
    return [f"{LANGUAGE_RUN_DIR}/{name}".format(setup=setup, variant=variant, seed=r) for r in range(1, runs + 1)]


def language_chunk_files(first, last, name):
    """Files ``name`` of seeds first..last of a training job's ``{key}`` (setup/variant)."""
    return [f"{LANGUAGE_KEY_RUN_DIR}/{name}".replace("{seed}", str(s)) for s in range(first, last + 1)]


def language_setup_of(wildcards):
    """The resolved setup of a training job's ``key`` (setup/variant)."""
    return LANGUAGE_SETUPS[wildcards.key.rsplit("/", 1)[0]]


def language_corpus_input(wildcards):
    return LANGUAGE_CORPUS.format(corpus=language_setup_of(wildcards)["corpus"])


def language_plateau_inputs(wildcards):
    plateau = LANGUAGE["plateau"]
    variant, runs = plateau["variant"], int(plateau["runs"])
    return {
        "histories": language_runs(wildcards.setup, variant, "history.csv", runs),
        "double_histories": language_runs(LANGUAGE["doubled"][wildcards.setup], variant, "history.csv", runs),
    }


def language_table_setup(setup):
    """The table setup a setup belongs to: itself, or the setup whose bit flips' base it is
    (its plateau check stands for its bases, which differ only by seeds)."""
    return next((table for table, names in LANGUAGE_BASES.items() if setup in names), setup)


def language_metrics_inputs(wildcards):
    return {
        "predictions": language_runs(wildcards.setup, wildcards.variant, "predictions.npz"),
        "records": language_runs(wildcards.setup, wildcards.variant, "run.json"),
        "plateau": LANGUAGE_PLATEAU.format(setup=language_table_setup(wildcards.setup)),
    }


def language_report_inputs(wildcards):
    return {
        "metrics": [LANGUAGE_METRICS.format(setup=wildcards.setup, variant=v) for v in LANGUAGE["variants"]],
        "bases": [LANGUAGE_METRICS.format(setup=name, variant="bitflip")
                  for name in LANGUAGE_BASES.get(wildcards.setup, [])[1:]],
        "plateau": LANGUAGE_PLATEAU.format(setup=wildcards.setup),
    }


def language_setup_pattern():
    return _one_of(LANGUAGE_TABLE_SETUPS)


def language_metrics_setup_pattern():
    """The setups with metrics rows: the table setups and their bit flips' bases."""
    return _one_of(LANGUAGE_TABLE_SETUPS + [n for names in LANGUAGE_BASES.values() for n in names[1:]])
