"""The route optimiser: which bins, in what order, for each truck. OR-Tools only in solver.py."""
