"""Placeholder: the Gradio app is wired here (see labeler/ and directions/)."""
