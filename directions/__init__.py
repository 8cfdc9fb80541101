"""Semantic directions in a generator's latent space: fit them from labels, store, apply, animate.

io.py           Direction / DirectionSet and the self-describing .npz file
geometry.py     class indices, orthonormal subspaces, slider units (shared by fit and conditional)
conditional.py  directions made orthogonal to other attributes (InterFaceGAN-style)
fit.py          DirectionFitter (a scikit-learn estimator: LDA with shrinkage, CV accuracy, SVM comparison), fit_run
edit.py         edit(w, set, {"age": +2, "hair_color": "blonde"}) in W, W+ and layer ranges
animate.py      seamless sweeps and latent walks, GIF/MP4 via imageio-ffmpeg, strip PNGs
mutation.py     the random-mutation explorer (find a direction by eye, save it into a set)

The CLI (fit, directions, edit, animate, explore) lives in latentlab.cli.directions and the app's
tabs in latentlab.ui; nothing here imports them.

Units everywhere: 1 = one standard deviation of the latents' projections onto the direction.
"""
