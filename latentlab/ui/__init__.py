"""The Gradio app: every tab (label, fit, edit, explore, animate, invert, admin) and the app builder."""
