"""The data a report is about, flowing one way: files are read and cleaned (tables.py, dialect.py), built-in
datasets loaded (builtin.py), logged predictions read (logged.py) or aggregated where they live (sources.py picks
the files and the engine; warehouse.py runs the passes on an engine of engines/; aggregated.py turns the cells into
a Dataset), and what the labels mean is decided once, the same way for every path (decide.py, labels.py)."""
from postreport.data.dataset import Dataset
from postreport.data.decide import are_probabilities, infer_task
from postreport.data.load import load_dataset

__all__ = ["Dataset", "load_dataset", "are_probabilities", "infer_task"]
