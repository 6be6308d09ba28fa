"""Chinese text analysis shared by search and matching: the project's one tokeniser and its dictionary.

Pure Python (rjieba, with jieba as fallback); no Flask, no database, no import of any area.
"""
