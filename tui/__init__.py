"""The Textual front end of nn-tui.

Kept empty on purpose: importing ``tui`` must not import Textual or plotext, so that
``nn-tui --version`` starts fast. Import the submodules you need.
"""
