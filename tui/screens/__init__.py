"""The Textual screens above the main one: inspect and runs, help, and the prompts."""
