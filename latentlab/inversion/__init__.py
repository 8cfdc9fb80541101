"""Image -> latent: find the w (or W+ ws) that makes the generator draw a given picture.

The pieces, each usable alone:

* `preprocess`: safe upload decoding, square crop, antialiased resize to the generator's size;
* `losses`: distances between images (pixel, VGG16 features, latentlab's own metric network);
* `metric`: that metric network and its triplet-loss training on the generator's own samples;
* `encoder`: a small CNN that guesses w from an image, so optimisation starts close;
* `samples`: what both trainings share (a cached pool of the generator's samples, augmentation, the loop);
* `weights`: the safetensors files of those two networks, tied to the generator they were trained for;
* `projector`: `Projector`, the optimisation (W, then optionally W+), plus the "plain recipe" baseline;
* `tuning`: pivotal tuning around the found latent, its per-image delta file, and the tuned generator
  that `edit`, `animate` and the app draw an inverted face with;
* `pipeline`: which loss and encoder files to use for a generator, `invert`, the verdict, and the latent file it makes.

The `invert`, `train-metric` and `train-encoder` subcommands live in `latentlab.cli.inversion`, the
app's tab in `latentlab.ui.invert_tab`.
"""
