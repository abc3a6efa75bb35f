"""TTA rules: every TTA method's logits of the chunk's saved runs (final weights and snapshots)."""

from runvar.execution import pin_job

pin_job(snakemake)  # execution.cpu_isa: before anything imports torch

from runvar.data import load_dataset
from runvar.io import save_predictions
from runvar.io import log_to
from runvar.reduction.tta import run_tta

with log_to(snakemake.log[0]) as log:
    data = load_dataset(snakemake.input.data)
    methods = snakemake.params.methods
    outputs = iter(snakemake.output)
    for model_path in snakemake.input.models:
        results = run_tta(snakemake.params.setup, data.x_test, data.num_classes, model_path, methods,
                          snakemake.params.padding, data.pad_value)
        for method in methods:
            logits, snapshots = results[method]
            path = next(outputs)
            save_predictions(path, logits, data.y_test.numpy(), snapshots)
            log(f"{path}: accuracy {(logits.argmax(1) == data.y_test.numpy()).mean():.4f}")
