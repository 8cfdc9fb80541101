"""Semantic directions in a generator's latent space: fit them from labels, store, apply, animate.

fit.py          DirectionFitter (LDA with shrinkage, CV accuracy, SVM comparison), fit_run
conditional.py  directions made orthogonal to other attributes (InterFaceGAN-style)
io.py           Direction / DirectionSet and the self-describing .npz file
edit.py         edit(w, set, {"age": +2, "hair_color": "blonde"}) in W, W+ and layer ranges
animate.py      seamless sweeps and latent walks, GIF/MP4 via imageio-ffmpeg, strip PNGs
mutation.py     the random-mutation explorer (find a direction by eye, save it into a set)
commands.py     CLI: fit, directions, edit, animate, explore
ui.py           the app's Fit, Edit, Explore and Animate tabs

Units everywhere: 1 = one standard deviation of the latents' projections onto the direction.
"""
