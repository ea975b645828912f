"""Built-in analyses. Each computes a typed result from the run context and turns it into
report items; none draws or renders. They register through the `postreport.analyses` entry points."""
