"""Reading the CSV files posprobe writes, for the plotting and report scripts."""
import csv
import math
import os


def read(path):
    """The rows of a CSV file as dicts keyed by its header; [] if it is missing."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fnum(x):
    """A cell as a float; NaN when it is empty or not a number."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan
