"""Publication of the indicators: the catalogue, the statistical disclosure rule, the open-data exports.

- :mod:`pipeline.publication.catalogue` — ``catalogue/indicateurs.yaml``, loaded and validated;
- :mod:`pipeline.publication.secret` — primary and secondary suppression (indicators.md, section F);
- :mod:`pipeline.publication.exports` — CSV + XLSX of a year, published atomically (section E).
"""
