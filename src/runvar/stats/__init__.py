"""Statistics over sets of runs: pairwise metrics in chunks of examples (:mod:`.pairwise`),
comparing two models' runs (:mod:`.comparison`) and seed budgets (:mod:`.power`)."""
