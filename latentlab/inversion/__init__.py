"""Image -> latent: find the w (or W+ ws) that makes the generator draw a given picture.

The pieces, each usable alone:

* `preprocess`: safe upload decoding, square crop, antialiased resize to the generator's size;
* `losses`: distances between images (pixel, VGG16 features, latentlab's own metric network);
* `metric`: that metric network and its triplet-loss training on the generator's own samples;
* `encoder`: a small CNN that guesses w from an image, so optimisation starts close;
* `projector`: the optimisation loop (W, then optionally W+), plus the "plain recipe" baseline;
* `commands` / `ui`: the `invert`, `train-metric`, `train-encoder` subcommands and the app tab.
"""
