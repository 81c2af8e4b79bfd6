"""Importers of foreign formats, each in its own module, imported on demand.

- :mod:`rtgen_opt.importers.xrbench`: XRBench's MAESTRO ``.m`` usage scenarios -> a scenario
  spec (latencies from the roofline cost model), and XRBench's schedule CSVs -> frame records.
- :mod:`rtgen_opt.importers.fjsp`: flexible job shop instances -> an Instance.
- :mod:`rtgen_opt.importers.stg`: Kasahara STG task graphs -> an Instance on identical
  processors.

:func:`rtgen_opt.inputs.load_instance` picks the importer by file suffix.
"""
