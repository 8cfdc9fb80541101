"""latentlab: label a StyleGAN's faces, find semantic directions, invert pictures and edit them.

Floors, each importing only from the ones below it:
  latentlab.cli        one console script, a subcommand per stage
  latentlab.ui         every Gradio tab and the app builder
  latentlab.inversion  image -> latent (projector, losses, encoder)
  directions           labels -> directions; edit, animate, explore
  labeler              runs, schema, label store, aggregation
  latentlab.generator  the generator interface, StyleGAN2, training, loaders, synthetic faces
  latentlab.core       errors, workspace, latent files, generator ids, shipped data
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("latentlab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
