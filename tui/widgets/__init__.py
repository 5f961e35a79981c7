"""The Textual widgets: panels, charts, the decision map, the editor, the footer, the
inspect views."""
