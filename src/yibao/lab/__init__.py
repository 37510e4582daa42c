"""The policy lab: a synthetic population and its bills, settled under a baseline and reforms, with metrics and reports."""
