"""The review stage: the built files read back and judged as a print shop, a PDF/UA validator
and a designer would (preflight, its reports, proofs and visual snapshots)."""
