"""The search index: SQLite records + a tantivy BM25 index + FAISS vectors, and the hybrid Searcher.

    from index.build import build_index          # records -> index folder (make index)
    from index.update import add_functions, remove_repos
    from index.searcher import Searcher          # Searcher.open(index_dir).search("read a json file")
"""
