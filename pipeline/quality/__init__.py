"""Data-quality gates: Great Expectations 1.x suites (``expectations/``) run on pandas DataFrames."""
