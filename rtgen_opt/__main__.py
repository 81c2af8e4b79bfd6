"""``python -m rtgen_opt`` runs the command line, like ``rtgen-opt``."""

from rtgen_opt.cli import main

main(prog_name="rtgen-opt")
