"""The application shell: the `arenalens` command and the demo, on top of every stage.

Nothing below this package imports it. Stage commands are registered by name from
`arenalens.stages` and imported only when they run, so `arenalens --help` and
`arenalens status` start without numpy, pandas, scikit-learn or torch.
"""
