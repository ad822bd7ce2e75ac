"""Code against schema: does each release's SQLAlchemy models work with the schema it will meet?

- :mod:`.models`      import ``MODULE:ATTR`` from a source tree; what it maps, and where
- :mod:`.previous`    the previous release's tree, from git (tags, ``git archive``)
- :mod:`.scratch`     a throwaway database, the migrations replayed by the runner
- :mod:`.compare`     one release's models against one schema: findings
- :mod:`.typefamily`  type families and narrowing (pure)
- :mod:`.rules`       rule names per comparison, findings from the rule catalog
- :mod:`.report`      what the check reports (plain data)
- :mod:`.api`         ``check_models``: the three comparisons of a release
"""
