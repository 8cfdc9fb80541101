"""`python app.py` starts latentlab's app on the default generator and ./workspace (Gradio's convention).

It is `latentlab serve` with its defaults; the app itself is built in `latentlab.ui.app`.
"""

import sys

from latentlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
