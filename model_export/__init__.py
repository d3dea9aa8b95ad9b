"""syna-fpga model side: SynA-ResNet model, integer contract, export bundle, reference.

Importing this package needs numpy only; the torch parts (model, quant,
fakequant, export, train) are imported from their modules when needed.
"""
__version__ = "0.1.0"
