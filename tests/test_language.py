"""Language modelling: the QRNN recurrence, per-source generators, corpora, metrics, config."""

import copy
import math

import numpy as np
import pytest
import torch

from runvar.config import ConfigError
from runvar.io import save_json, save_npz
from runvar.language.config import resolve_block, resolve_setup
from runvar.language.corpus import CorpusError, batchify, build_corpus, load_corpus, ptb_corpus, pydoc_corpus, save_corpus
from runvar.language.metrics import language_variability
from runvar.language.models import LanguageModel, fo_pool, fo_pool_loop
from runvar.language.runs import variant_metrics
from runvar.plateau import VALID_PPL, plateau_check
from runvar.language.train import train_language_run, window_length
from runvar.runs import DeterminismError
from runvar.seeds import run_seeds

TINY = {"corpus": "pydoc", "model": {"kind": "qrnn", "embedding": 8, "hidden": 12, "layers": 2},
        "epochs": 1, "batch_size": 8, "bptt": 12, "train_tokens": 1500, "test_batch_size": 10}


@pytest.fixture(scope="module")
def corpus():
    return pydoc_corpus(60)


def tiny_setup(**overrides):
    return resolve_setup("tiny", {**copy.deepcopy(TINY), **overrides}, {})


@pytest.mark.parametrize("steps", [1, 2, 7, 16, 70])
def test_fo_pool_matches_the_step_loop(steps):
    gen = torch.Generator().manual_seed(steps)
    z = torch.randn(steps, 3, 5, generator=gen).tanh()
    f_logit = 3 * torch.randn(steps, 3, 5, generator=gen)
    c0 = torch.randn(3, 5, generator=gen)
    assert torch.allclose(fo_pool(z, f_logit, c0), fo_pool_loop(z, f_logit, c0), atol=1e-6, rtol=0)


def _train_forward(model, seeds):
    """Training-mode logits of a fixed input with the run's stochastic generator."""
    model.train()
    tokens = torch.arange(40).remainder(30).view(10, 4)
    gen = seeds.generators()["stochastic"]
    logits, *_ = model(tokens, model.init_hidden(4), gen)
    lengths = [window_length(70, gen) for _ in range(20)]
    return logits.detach(), lengths


@pytest.mark.parametrize("kind", ["qrnn", "lstm"])
def test_stochastic_generator_alone_changes_dropout_masks_and_bptt_lengths(kind):
    model = LanguageModel(kind, 30, 6, 10, 2, dropout=0.4, dropouth=0.3, dropouti=0.4, dropoute=0.1, wdrop=0.2)
    model.reset_parameters(run_seeds("none", 1).generators()["init"])
    base_logits, base_lengths = _train_forward(model, run_seeds("stochastic", 1))
    logits, lengths = _train_forward(model, run_seeds("stochastic", 2))
    assert not torch.equal(logits, base_logits) and lengths != base_lengths
    for variant in ("init", "bitflip"):  # other sources: the same masks and lengths
        logits, lengths = _train_forward(model, run_seeds(variant, 2))
        assert torch.equal(logits, base_logits) and lengths == base_lengths
    assert all(length >= 5 for length in lengths)


def test_init_generator_alone_changes_initial_weights():
    def weights(variant, run):
        model = LanguageModel("qrnn", 30, 6, 10, 2)
        model.reset_parameters(run_seeds(variant, run).generators()["init"])
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert not torch.equal(weights("init", 1), weights("init", 2))
    assert torch.equal(weights("stochastic", 1), weights("stochastic", 2))


def test_none_runs_are_bitwise_identical_and_bitflip_moves_one_ulp(corpus):
    setup = tiny_setup()
    first = train_language_run(setup, corpus, run_seeds("none", 1), log=lambda line: None)
    second = train_language_run(setup, corpus, run_seeds("none", 2), log=lambda line: None)
    assert first.target_logprob.tobytes() == second.target_logprob.tobytes()
    assert np.array_equal(first.argmax, second.argmax)
    assert len(first.target_logprob) == first.record["test_positions"] == (len(corpus.test) // 10 - 1) * 10
    assert [h["epoch"] for h in first.history] == [1] and first.history[0]["valid_ppl"] > 1
    flipped = train_language_run(setup, corpus, run_seeds("bitflip", 1), log=lambda line: None)
    flip = flipped.record["bitflip"]
    assert flip["parameter"] == "encoder.weight" and abs(int(flip["new_bits"], 16) - int(flip["old_bits"], 16)) == 1


def test_pydoc_corpus_is_deterministic_and_checksummed(tmp_path, corpus):
    again = pydoc_corpus(60)
    assert again.checksum == corpus.checksum and len(corpus.vocab) == 62
    assert corpus.vocab[:2] == ["<eos>", "<unk>"]
    assert 80_000 < len(corpus.train) and 8_000 < len(corpus.valid) and 8_000 < len(corpus.test)
    save_corpus(tmp_path / "c.npz", corpus)
    assert load_corpus(tmp_path / "c.npz").checksum == corpus.checksum
    assert batchify(np.arange(10), 3).tolist() == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def _write_ptb(root, train_lines=110_000, valid_lines=8_000, test_lines=9_000, valid_extra=""):
    root.mkdir(exist_ok=True)
    line = "the cat sat on a <unk> mat\n"  # 7 words + <eos> = 8 tokens
    (root / "ptb.train.txt").write_text(line * train_lines)
    (root / "ptb.valid.txt").write_text(line * valid_lines + valid_extra)
    (root / "ptb.test.txt").write_text(line * test_lines)


def test_ptb_missing_or_malformed_files_are_named(tmp_path):
    with pytest.raises(CorpusError, match=r"ptb\.train\.txt is missing: expected Mikolov's preprocessed"):
        ptb_corpus(tmp_path)
    _write_ptb(tmp_path, test_lines=10)
    with pytest.raises(CorpusError, match=r"ptb\.test\.txt has 80 tokens .*at least 70,000.*truncated"):
        ptb_corpus(tmp_path)
    _write_ptb(tmp_path, valid_extra="zebra\n")
    with pytest.raises(CorpusError, match=r"ptb\.valid\.txt has 1 words not in ptb\.train\.txt \(e\.g\. 'zebra'\)"):
        ptb_corpus(tmp_path)
    (tmp_path / "ptb.test.txt").write_bytes(b"\xff\xfe bad")
    with pytest.raises(CorpusError, match=r"ptb\.test\.txt is not UTF-8 text"):
        ptb_corpus(tmp_path)
    _write_ptb(tmp_path)
    ptb = build_corpus("ptb", {"root": str(tmp_path)})
    assert ptb.vocab[:3] == ["the", "cat", "sat"] and len(ptb.train) == 880_000
    with pytest.raises(CorpusError, match="needs datasets: {ptb: {root: DIR}}"):
        build_corpus("ptb", {})


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"settings\.a\.corpus = 'wiki'; valid corpora: pydoc, ptb"):
        resolve_setup("a", {"corpus": "wiki"}, {})
    with pytest.raises(ConfigError, match=r"settings\.a reads Penn Treebank: set datasets: {ptb: {root: DIR}}"):
        resolve_setup("a", {"corpus": "ptb"}, {})
    with pytest.raises(ConfigError, match=r"unknown key 'lrate'"):
        resolve_setup("a", {"lrate": 1}, {})
    with pytest.raises(ConfigError, match=r"'shuffle' is not a language-model variant"):
        resolve_block({"variants": ["shuffle"], "settings": {"a": {}}}, {})
    assert resolve_setup("a", {"corpus": "ptb"}, {"ptb": {"root": "/x"}})["corpus_options"] == {"root": "/x"}


def test_metrics_against_hand_computed_values():
    p = np.array([[0.5, 0.25, 0.5, 0.5], [0.5, 0.5, 0.25, 0.5], [0.25, 0.25, 0.25, 0.25]])
    argmax = np.array([[1, 2, 3, 4], [1, 2, 0, 4], [0, 0, 0, 0]])
    row = language_variability(np.log(p), argmax, resamples=200)
    ppl = [2 ** 1.25, 2 ** 1.25, 4.0]
    assert row["per_run"]["ppl"] == pytest.approx(ppl)
    assert row["ppl_mean"] == pytest.approx(np.mean(ppl)) and row["ppl_sd"] == pytest.approx(np.std(ppl))
    # pairs (0,1), (0,2), (1,2): argmax differs at 1, 4 and 3 of 4 positions
    assert row["pairs"]["pairwise_disagreement"] == pytest.approx([25.0, 100.0, 75.0])
    assert row["pairwise_disagreement"] == pytest.approx(200 / 3)
    ens01 = math.exp(-np.mean(np.log([0.5, 0.375, 0.375, 0.5])))
    ens02 = math.exp(-np.mean(np.log([0.375, 0.25, 0.375, 0.375])))
    assert row["pairs"]["ensemble_delta_ppl"][:2] == pytest.approx([ens01 - ppl[0], ens02 - (ppl[0] + 4) / 2])
    assert row["ensemble_delta_ppl"] == pytest.approx(np.mean(row["pairs"]["ensemble_delta_ppl"]))


def _runs(tmp_path, logprobs):
    preds, records = [], []
    for i, lp in enumerate(logprobs):
        preds.append(tmp_path / f"p{i}.npz")
        records.append(tmp_path / f"r{i}.json")
        save_npz(preds[-1], target_logprob=np.asarray(lp, np.float32), argmax=np.zeros(len(lp), np.int32))
        save_json(records[-1], {"setup": "s", "execution": {"device": "cpu", "threads": 1}, "config_digest": "d",
                                "code_digest": "c", "corpus_checksum": "c", "wall_seconds": 1.0})
    return preds, records


def test_none_metrics_fail_unless_bitwise_identical(tmp_path):
    preds, records = _runs(tmp_path, [[-1.0, -2.0], [-1.0, -2.0]])
    row = variant_metrics("none", preds, records, resamples=100)
    assert row["ppl_sd"] == 0.0 and row["bitwise_identical"]
    preds, records = _runs(tmp_path, [[-1.0, -2.0], [-1.0, np.nextafter(np.float32(-2.0), np.float32(0))]])
    with pytest.raises(DeterminismError, match="variant 'none' gave different predictions"):
        variant_metrics("none", preds, records, resamples=100)
    assert not variant_metrics("init", preds, records, resamples=100)["bitwise_identical"]


def test_plateau_check_on_validation_ppl(tmp_path):
    paths = {}
    for name, values in {"e": [[50, 40], [52, 42]], "e2": [["nan", 40, "nan", 40.1], ["nan", 42, "nan", 41.7]]}.items():
        paths[name] = []
        for i, ppl in enumerate(values):
            path = tmp_path / f"{name}{i}.csv"
            path.write_text("epoch,valid_ppl\n" + "".join(f"{e + 1},{v}\n" for e, v in enumerate(ppl)))
            paths[name].append(path)
    check = plateau_check("s", "all", paths["e"], paths["e2"], 1.0, VALID_PPL)
    assert check["valid_ppl"] == 41.0 and check["valid_ppl_double"] == pytest.approx(40.9)
    assert check["change"] == pytest.approx(-100 * 0.1 / 41)
    # two runs that moved by +0.1 and -0.3 PPL: the change's SE, paired by run, is SD(0.1, -0.3) /
    # sqrt(2) = 0.2 PPL, 0.49% of 41; |-0.24%| + 1.645 SE = 1.05% and the 1% rule cannot tell
    assert check["change_se"] == pytest.approx(100 * 0.2 / 41, rel=1e-4)
    assert check["decision"] == "undecided" and not check["converged"]
    assert plateau_check("s", "all", paths["e"], paths["e2"], 1.1, VALID_PPL)["decision"] == "on the plateau"
    assert check["curve_double"] == {"epochs": [2, 4], "valid_ppl": [41.0, pytest.approx(40.9)]}
    assert not plateau_check("s", "all", paths["e"], paths["e2"], 0.2, VALID_PPL)["converged"]


def test_bases_and_runs_by_variant_need_their_variants():
    from runvar.language.plan import plan

    def language(**block):
        return {"studies": {"language": {"runs": 4, "settings": {"q": {"epochs": 3}}, **block}}}

    with pytest.raises(ConfigError, match=r"studies.language.bitflip_bases = 3 needs the variant bitflip in studies.language.variants"):
        plan(language(variants=["all"], bitflip_bases=3))
    with pytest.raises(ConfigError, match=r"studies.language.runs_by_variant: \['init'\] not in studies.language.variants"):
        plan(language(variants=["all"], runs_by_variant={"init": 8}))
    assert plan(language(variants=["all"], bitflip_bases=1)).detail["bitflip_bases"] == {}
