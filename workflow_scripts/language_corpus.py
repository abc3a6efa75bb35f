"""Rule language_corpus: read (pydoc) or check and read (PTB) a corpus; write the prepared file."""

from runvar.io import log_to
from runvar.language.corpus import build_corpus, save_corpus

with log_to(snakemake.log[0]) as log:
    corpus = build_corpus(snakemake.wildcards.corpus, snakemake.params.options)
    save_corpus(snakemake.output[0], corpus)
    log(f"{snakemake.wildcards.corpus}: {len(corpus.train):,} / {len(corpus.valid):,} / {len(corpus.test):,} "
        f"tokens, vocabulary {len(corpus.vocab):,}, sha256 {corpus.checksum}")
