"""One reader per source, driven by the declarative layout files in ``layouts/``."""
