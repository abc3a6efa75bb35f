"""The HTML report's layout (``snakemake --report``): categories in reading order.

Snakemake's report lists categories alphabetically, so each name starts with its place: the
claims and their verdicts first, then every study's tables and figures, each naming the paper
table or figure it reproduces (no colons: Snakemake makes each name an RST link target). The front page (``rules/captions/workflow.rst``) shows the claims
tables and links these categories; the config is its collapsed appendix.
"""

#: Study key -> report category.
CATEGORIES: dict[str, str] = {
    "claims": "1. Claims and verdicts",
    "sources": "2. Sources of nondeterminism (SD Tables 1, 3; RE Table 4)",
    "tables": "3. Depth, architectures, generalization (SD Tables 6, 8, Fig. 3; RE Table 10)",
    "reduction": "4. Reducing variability, ensembles and TTA (SD Table 5; RE Table 7)",
    "settings": "5. Variability over settings (SD Fig. 2, Table 7; RE Tables 8, 9)",
    "cka": "6. Representations, linear CKA (SD Fig. 1)",
    "selection": "7. Weight selection (SM Figs 1, 2)",
    "synthetic": "8. Synthetic irreproducibility (SS Figs 2, 6, 8, 10)",
    "convergence": "9. Convergence, plateau checks and training length",
}
