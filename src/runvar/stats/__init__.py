"""Statistics over sets of runs: pairwise metrics in chunks of examples (:mod:`.pairwise`),
comparing two models' runs (:mod:`.comparison`), seed budgets (:mod:`.power`) and a row's
bulk spread without its rare bad runs (:mod:`.spread`)."""
